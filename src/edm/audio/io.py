"""Decode audio files (WAV, FLAC, OGG, MP3 through libsndfile) to mono float32 and resample.

Every failure becomes an :class:`~edm.errors.AudioError` naming the file: missing, empty,
not audio, corrupt, truncated, or holding no samples.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from edm.errors import AudioError

SUPPORTED_FORMATS = ("WAV", "FLAC", "OGG", "MP3")
SUPPORTED_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")

# Decoders of compressed formats may declare a length a little off the real one (MP3 headers
# estimate it); a shortfall beyond both margins means the file was cut.
_TRUNCATION_TOLERANCE = 0.01
_TRUNCATION_MIN_SECONDS = 0.1


@dataclass(frozen=True)
class AudioFileInfo:
    path: Path
    format: str
    sample_rate: int
    channels: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.sample_rate


def read_audio_info(path: Path | str) -> AudioFileInfo:
    """The header of an audio file, without decoding it."""
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise AudioError(path, _describe(exc)) from None
    return AudioFileInfo(
        path=path,
        format=info.format,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
    )


def decode_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Decode a whole file to mono float32 at its own sample rate: ``(samples, sample_rate)``."""
    path = Path(path)
    _check_file(path)
    try:
        with sf.SoundFile(str(path)) as handle:
            declared = handle.frames
            sample_rate = int(handle.samplerate)
            data = handle.read(dtype="float32", always_2d=True)
            file_format = handle.format
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise AudioError(path, _describe(exc)) from None
    if file_format in ("WAV", "WAVEX") and _wav_data_is_cut(path):
        raise AudioError(path, "truncated: the file ends before its declared audio data")
    shortfall = declared - data.shape[0]
    if shortfall > max(_TRUNCATION_TOLERANCE * declared, _TRUNCATION_MIN_SECONDS * sample_rate):
        raise AudioError(path, f"truncated: decoded {data.shape[0]} of {declared} declared samples")
    if data.shape[0] == 0:
        raise AudioError(path, "no audio samples could be decoded (empty or truncated stream)")
    mono = data.mean(axis=1, dtype=np.float32) if data.shape[1] > 1 else data[:, 0]
    if not np.isfinite(mono).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(mono), sample_rate


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality); a no-op when the rates match."""
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), from_rate, to_rate, quality="HQ")


def load_audio(path: Path | str, sample_rate: int) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``."""
    samples, native_rate = decode_audio(path)
    return resample(samples, native_rate, sample_rate)


def _check_file(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise AudioError(path, "file not found") from None
    except OSError as exc:
        raise AudioError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not path.is_file():
        raise AudioError(path, "is not a file")
    if size == 0:
        raise AudioError(path, "file is empty")


def _describe(exc: Exception) -> str:
    text = str(exc)
    if "Format not recognised" in text or "unknown format" in text.lower():
        return f"not a supported audio file ({', '.join(SUPPORTED_FORMATS)})"
    # libsndfile prefixes its messages with "Error opening '<path>': "; the path is said already.
    detail = text.split("': ", 1)[-1].strip() or type(exc).__name__
    return f"corrupt or unreadable audio: {detail}"


def _wav_data_is_cut(path: Path) -> bool:
    """Whether the RIFF 'data' chunk declares more bytes than the file holds.

    libsndfile silently shortens such a file to what is there, so it must be checked here.
    """
    file_size = path.stat().st_size
    with path.open("rb") as handle:
        header = handle.read(12)
        if len(header) < 12 or header[:4] != b"RIFF" or header[8:12] != b"WAVE":
            return False
        position = 12
        while position + 8 <= file_size:
            handle.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", handle.read(8))
            if chunk_id == b"data":
                # Streaming writers leave 0 or 0xFFFFFFFF when they cannot seek back to fix it.
                if chunk_size in (0, 0xFFFFFFFF):
                    return False
                return position + 8 + chunk_size > file_size
            position += 8 + chunk_size + (chunk_size & 1)
    return False
