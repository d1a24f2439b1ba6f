"""Audio the browser can play. Chromium plays WAV, FLAC, Ogg/Opus, MP3 and AAC itself; a
format it cannot (AIFF) is decoded here once and served as a 16-bit WAV, cached by the
source's hash like the peaks, so every format edm reads can be reviewed."""

from __future__ import annotations

import io
from pathlib import Path

from edm.atomic import atomic_write
from edm.file_hash import file_sha256

BROWSER_PLAYABLE = (
    ".wav",
    ".wave",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".mp3",
    ".m4a",
    ".mp4",
    ".aac",
)
CODE_VERSION = 1


def playable_audio(audio: Path, cache_dir: Path) -> Path:
    """``audio`` itself when a browser plays it, else its cached WAV (mono: the page shows and
    plays one signal). AudioError when the file cannot be decoded."""
    if audio.suffix.lower() in BROWSER_PLAYABLE:
        return audio
    cached = cache_dir / "annotate-audio" / f"{file_sha256(audio)}-v{CODE_VERSION}.wav"
    if cached.exists():
        return cached
    import soundfile as sf

    from edm.audio.io import decode_audio

    samples, rate = decode_audio(audio)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(cached, "wb") as handle:
        handle.write(buffer.getvalue())
    return cached
