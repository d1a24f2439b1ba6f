"""Every common audio format, each written in the test and read back (issue 33, point 6)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edm.audio.io import (
    SUPPORTED_SUFFIXES,
    audio_files,
    decode_audio,
    read_audio_info,
    uncompressed_bytes,
)
from edm.batch.files import is_audio_name
from edm.errors import AudioError

RATE = 48000
SECONDS = 2.0


def _signal() -> np.ndarray:
    t = np.arange(int(SECONDS * RATE)) / RATE
    left, right = np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 660 * t)
    return (0.4 * np.stack([left, right], axis=1)).astype(np.float32)


def _write_with_pyav(path: Path, container_format: str, codec: str) -> None:
    import av

    samples = _signal()
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=RATE, layout="stereo")
        frame_size = 1024
        for start in range(0, samples.shape[0], frame_size):
            block = np.ascontiguousarray(samples[start : start + frame_size].T)
            frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="stereo")
            frame.sample_rate = RATE
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


WRITERS = {
    "track.wav": lambda p: sf.write(p, _signal(), RATE, subtype="PCM_16"),
    "track.aiff": lambda p: sf.write(p, _signal(), RATE, format="AIFF", subtype="PCM_16"),
    "track.flac": lambda p: sf.write(p, _signal(), RATE, format="FLAC"),
    "track.ogg": lambda p: sf.write(p, _signal(), RATE, format="OGG", subtype="VORBIS"),
    "track.opus": lambda p: sf.write(p, _signal(), RATE, format="OGG", subtype="OPUS"),
    "track.mp3": lambda p: sf.write(p, _signal(), RATE, format="MP3", subtype="MPEG_LAYER_III"),
    "track.m4a": lambda p: _write_with_pyav(p, "mp4", "aac"),
    "track.aac": lambda p: _write_with_pyav(p, "adts", "aac"),
}


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_each_format_is_read(tmp_path: Path, name: str) -> None:
    # Before issue 33, M4A/AAC could not be decoded ("not a supported audio file").
    path = tmp_path / name
    WRITERS[name](path)
    info = read_audio_info(path)
    assert info.sample_rate == RATE and info.channels == 2
    assert info.duration == pytest.approx(SECONDS, abs=0.1)
    mono, rate = decode_audio(path)
    assert rate == RATE and mono.dtype == np.float32
    assert mono.size == pytest.approx(SECONDS * RATE, rel=0.05)
    # The 440 Hz and 660 Hz tones, mixed: the spectrum's two peaks are where they belong.
    spectrum = np.abs(np.fft.rfft(mono[RATE // 4 : RATE // 4 + RATE]))
    peaks = sorted(np.argsort(spectrum)[-2:])
    assert abs(peaks[0] - 440) <= 2 and abs(peaks[1] - 660) <= 2
    assert path.suffix in SUPPORTED_SUFFIXES and is_audio_name(path.name)


def test_every_command_lists_every_format_in_a_folder(tmp_path: Path) -> None:
    # Before: audio_files (edm batch, edm monitor drift) skipped AIFF, M4A and Opus silently.
    for name, write in WRITERS.items():
        write(tmp_path / name)
    (tmp_path / "notes.txt").write_text("not audio")
    listed = sorted(path.name for path in audio_files(tmp_path))
    assert listed == sorted(WRITERS)


def test_a_broken_m4a_is_named(tmp_path: Path) -> None:
    path = tmp_path / "broken.m4a"
    WRITERS["track.m4a"](path)
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(AudioError, match=r"broken\.m4a"):
        decode_audio(path)


def test_the_upload_cap_follows_from_the_seconds_cap(tmp_path: Path) -> None:
    # Before: a 10-minute 44.1 kHz stereo WAV (106 MB) got 413 at the 100 MB default while
    # --max-audio-seconds 900 accepted it, and the same audio as FLAC went through.
    from edm.serving.config import ServeConfig
    from edm.serving.uploads import check_declared_length

    path = tmp_path / "ten_minutes.wav"
    with sf.SoundFile(path, "w", samplerate=44100, channels=2, subtype="PCM_16") as handle:
        block = np.zeros((44100 * 60, 2), dtype=np.int16)
        for _ in range(10):
            handle.write(block)
    size = path.stat().st_size
    assert size > 100 * 2**20
    config = ServeConfig()
    assert read_audio_info(path).duration <= config.max_audio_seconds
    check_declared_length(str(size), config.max_upload_bytes)  # no 413
    # Uncompressed 48 kHz 24-bit stereo at the seconds cap fits too; an explicit cap stays.
    assert config.max_upload_bytes >= uncompressed_bytes(config.max_audio_seconds)
    assert ServeConfig(max_upload_mb=10).max_upload_bytes == 10 * 2**20
