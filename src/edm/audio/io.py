"""Decode audio files to mono float32 and resample: WAV, AIFF, FLAC, OGG (Vorbis), Opus and MP3
through libsndfile; M4A/AAC (and what else libsndfile refuses) through PyAV
(:mod:`edm.audio.ffmpeg`). :data:`SUPPORTED_SUFFIXES` is the one list every command uses
(analyze, batch, monitor drift, evaluate, the service's uploads).

Every failure becomes an :class:`~edm.errors.AudioError` naming the file: missing, empty,
not audio, corrupt, truncated, holding no samples, or with a header no real recording has
(a sample rate of 1 Hz or 10 MHz, hours of audio), refused before anything is decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from edm.audio import ffmpeg
from edm.errors import AudioError, DataError

SUPPORTED_FORMATS = ("WAV", "AIFF", "FLAC", "OGG", "Opus", "MP3", "M4A/AAC")
SUPPORTED_SUFFIXES = (
    ".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus", ".mp3",
    ".m4a", ".mp4", ".aac",
)  # fmt: skip

# The most bytes a second of uncompressed audio takes in the files people send: 48 kHz, stereo,
# 24-bit (WAV and AIFF exports). Byte caps on uploads follow from a cap in seconds with this,
# so that a file within the seconds is never refused for its bytes (96 kHz masters excepted).
UNCOMPRESSED_BYTES_PER_SECOND = 48_000 * 2 * 3
_HEADER_BYTES = 1 << 20  # a header, cover art and tags


def uncompressed_bytes(seconds: float) -> int:
    """The byte cap that lets ``seconds`` of uncompressed audio through."""
    return int(seconds * UNCOMPRESSED_BYTES_PER_SECOND) + _HEADER_BYTES


# Decoders of compressed formats may declare a length a little off the real one (MP3 headers
# estimate it); a shortfall beyond both margins means the file was cut.
_TRUNCATION_TOLERANCE = 0.01
_TRUNCATION_MIN_SECONDS = 0.1

# What a header may claim before anything is decoded or resampled. A header claiming 1 Hz
# made the resampler allocate billions of samples (and crash); one claiming a day of audio
# makes the decoder allocate it. Real music lies well inside these bounds.
MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 32
MAX_SECONDS = 6 * 3600


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
    head = _check_file(path)
    if _is_ffmpeg_only(head):
        rate, channels, frames = ffmpeg.probe(path)
        _check_header(path, rate, channels, frames)
        return AudioFileInfo(path, "M4A/AAC", rate, channels, frames)
    try:
        info = sf.info(str(path))
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        if _not_recognised(exc):
            rate, channels, frames = ffmpeg.probe(path)
            _check_header(path, rate, channels, frames)
            return AudioFileInfo(path, "FFmpeg", rate, channels, frames)
        raise AudioError(path, _describe(exc)) from None
    _check_header(path, int(info.samplerate), int(info.channels), int(info.frames))
    return AudioFileInfo(
        path=path,
        format=info.format,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
    )


def _check_header(path: Path, sample_rate: int, channels: int, frames: int) -> None:
    """Refuse a header no real recording has, before it costs memory or time."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioError(
            path,
            f"absurd sample rate {sample_rate} Hz in its header "
            f"(accepted: {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz)",
        )
    if not 1 <= channels <= MAX_CHANNELS:
        raise AudioError(path, f"absurd channel count {channels} in its header")
    if frames > MAX_SECONDS * sample_rate:
        raise AudioError(
            path,
            f"absurd length in its header: {frames / sample_rate / 3600:.1f} h "
            f"(at most {MAX_SECONDS // 3600} h accepted)",
        )


def decode_audio(path: Path | str) -> tuple[np.ndarray, int]:
    """Decode a whole file to mono float32 at its own sample rate: ``(samples, sample_rate)``."""
    path = Path(path)
    head = _check_file(path)
    if _is_ffmpeg_only(head):
        return _decode_with_ffmpeg(path)
    try:
        with sf.SoundFile(str(path)) as handle:
            declared = handle.frames
            sample_rate = int(handle.samplerate)
            _check_header(path, sample_rate, int(handle.channels), int(declared))
            # 16-bit files (most WAV and FLAC) are read as integers and mixed here: 8x faster
            # than libsndfile's float conversion, and the same float32 values to the bit.
            sixteen_bit = handle.subtype == "PCM_16"
            data = handle.read(dtype="int16" if sixteen_bit else "float32", always_2d=True)
            file_format = handle.format
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        if _not_recognised(exc):  # an ADTS .aac stream, say: FFmpeg knows more containers
            return _decode_with_ffmpeg(path)
        raise AudioError(path, _describe(exc)) from None
    if file_format in ("WAV", "WAVEX") and _wav_data_is_cut(path):
        raise AudioError(path, "truncated: the file ends before its declared audio data")
    shortfall = declared - data.shape[0]
    if shortfall > max(_TRUNCATION_TOLERANCE * declared, _TRUNCATION_MIN_SECONDS * sample_rate):
        raise AudioError(path, f"truncated: decoded {data.shape[0]} of {declared} declared samples")
    if data.shape[0] == 0:
        raise AudioError(path, "no audio samples could be decoded (empty or truncated stream)")
    mono = _mix_sixteen_bit(data) if sixteen_bit else _mix(data)
    if not np.isfinite(mono).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return np.ascontiguousarray(mono), sample_rate


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    rate, channels, frames = ffmpeg.probe(path)
    _check_header(path, rate, channels, frames)
    mono, rate = ffmpeg.decode(path)
    if not np.isfinite(mono).all():
        raise AudioError(path, "contains NaN or infinite samples")
    return mono, rate


def _mix(data: np.ndarray) -> np.ndarray:
    """The mean of the channels of float32 ``(frames, channels)``, as float32.

    Channel by channel: ``data.mean(axis=1)`` reduces an axis of two values per frame, which
    numpy does 20-40x slower than adding two columns (150 ms for a 3-minute stereo file).
    """
    mono = data[:, 0].copy()
    for channel in range(1, data.shape[1]):
        mono += data[:, channel]
    if data.shape[1] > 1:
        mono /= np.float32(data.shape[1])
    return mono


def _mix_sixteen_bit(data: np.ndarray) -> np.ndarray:
    """:func:`_mix` of int16 samples scaled as libsndfile scales them (by 1/32768): integer
    sums are exact, and so are their float32 values, so the result is the float path's."""
    total = data[:, 0].astype(np.int32)
    for channel in range(1, data.shape[1]):
        total += data[:, channel]
    mono = total.astype(np.float32)
    mono *= np.float32(1.0 / 32768.0)
    if data.shape[1] > 1:
        mono /= np.float32(data.shape[1])
    return mono


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Band-limited resampling (soxr, high quality); a no-op when the rates match."""
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    return soxr.resample(samples.astype(np.float32, copy=False), from_rate, to_rate, quality="HQ")


def load_audio(path: Path | str, sample_rate: int) -> np.ndarray:
    """Decode ``path`` to mono float32 at ``sample_rate``."""
    samples, native_rate = decode_audio(path)
    return resample(samples, native_rate, sample_rate)


def _check_file(path: Path) -> bytes:
    """The file's first bytes, once it is known to be a readable file that looks like audio."""
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
    try:  # libsndfile would only say "System error."
        with path.open("rb") as handle:
            head = handle.read(12)
    except OSError as exc:
        raise AudioError(path, f"cannot be read: {exc.strerror or exc}") from None
    if not _looks_like_audio(head):
        # Unknown bytes would go to the MP3 decoder last, which prints notes on stderr.
        raise AudioError(path, f"not a supported audio file ({', '.join(SUPPORTED_FORMATS)})")
    return head


# AIFF (FORM) and BW64 too: libsndfile reads them, and edm always let it.
_MAGIC = (b"RIFF", b"RIFX", b"RF64", b"BW64", b"riff", b"FORM", b"fLaC", b"OggS", b"ID3")


def _looks_like_audio(head: bytes) -> bool:
    """WAV, AIFF, FLAC, Ogg (Vorbis, Opus), MP4/M4A, or MP3 and ADTS AAC (an ID3 tag or an
    MPEG frame sync) by its first bytes."""
    if head.startswith(_MAGIC) or _is_ffmpeg_only(head):
        return True
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def _is_ffmpeg_only(head: bytes) -> bool:
    """An MP4 container (M4A/AAC, ALAC): ``ftyp`` at byte 4. libsndfile reads none of it."""
    return head[4:8] == b"ftyp"


def _not_recognised(exc: Exception) -> bool:
    text = str(exc)
    return (
        "Format not recognised" in text
        or "unknown format" in text.lower()
        or "not a regular file" in text
    )


def _describe(exc: Exception) -> str:
    text = str(exc)
    if (
        "Format not recognised" in text
        or "unknown format" in text.lower()
        or "not a regular file" in text  # what the MP3 decoder says of bytes it cannot parse
    ):
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


def audio_files(folder: Path | str) -> list[Path]:
    """The audio files under ``folder`` (any depth), sorted; DataError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder")
    files = sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file()
    )
    if not files:
        suffixes = ", ".join(SUPPORTED_SUFFIXES)
        raise DataError(f"{folder}: no audio files ({suffixes}) in it")
    return files
