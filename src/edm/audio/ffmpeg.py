"""Audio that libsndfile cannot read (M4A/AAC, and any other container FFmpeg knows), decoded
through PyAV, the maintained FFmpeg binding whose wheels bring FFmpeg's libraries.

The same contract as :func:`edm.audio.io.decode_audio`: mono float32 at the file's own rate,
and every failure an :class:`~edm.errors.AudioError` naming the file. ``av`` is imported only
when such a file comes (it costs a few hundred milliseconds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edm.errors import AudioError


def probe(path: Path) -> tuple[int, int, int]:
    """``(sample_rate, channels, frames)`` of the first audio stream, from the container."""
    av = _av(path)
    try:
        with av.open(str(path)) as container:
            stream = _audio_stream(container, path)
            rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            channels = int(stream.codec_context.channels or 0)
            seconds = _seconds(container, stream)
    except av.FFmpegError as exc:
        raise AudioError(path, _describe(exc)) from None
    return rate, channels, round(seconds * rate)


def decode(path: Path) -> tuple[np.ndarray, int]:
    """The whole first audio stream, channels mixed to mono float32: ``(samples, rate)``."""
    av = _av(path)
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            stream = _audio_stream(container, path)
            rate = int(stream.codec_context.sample_rate or 0)
            # Planar float at the stream's own rate: the mix and any resampling are ours.
            resampler = av.AudioResampler(format="fltp", rate=rate or None)
            for frame in container.decode(stream):
                for plain in resampler.resample(frame):
                    chunks.append(plain.to_ndarray())
            for plain in resampler.resample(None):
                chunks.append(plain.to_ndarray())
    except av.FFmpegError as exc:
        raise AudioError(path, _describe(exc)) from None
    if not chunks or rate <= 0:
        raise AudioError(path, "no audio samples could be decoded (empty or truncated stream)")
    planar = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    mono = planar.mean(axis=0, dtype=np.float32) if planar.shape[0] > 1 else planar[0]
    return np.ascontiguousarray(mono), rate


def _describe(exc: Exception) -> str:
    """FFmpeg's own words, without the error number and the path (the caller names it)."""
    detail = getattr(exc, "strerror", None) or str(exc)
    return f"corrupt or unreadable audio: {detail}"


def _av(path: Path):  # type: ignore[no-untyped-def]
    try:
        import av
    except ImportError:
        raise AudioError(
            path, "needs PyAV to decode (pip install av; edm's install brings it)"
        ) from None
    return av


def _audio_stream(container, path: Path):  # type: ignore[no-untyped-def]
    streams = [s for s in container.streams if s.type == "audio"]
    if not streams:
        raise AudioError(path, "holds no audio stream")
    return streams[0]


def _seconds(container, stream) -> float:  # type: ignore[no-untyped-def]
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # av.time_base
    return 0.0
