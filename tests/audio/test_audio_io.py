from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edm.audio.io import decode_audio, load_audio, read_audio_info
from edm.errors import AudioError


@pytest.mark.parametrize(
    ("suffix", "file_format", "subtype", "tolerance"),
    [
        (".wav", "WAV", "PCM_16", 1e-3),
        (".flac", "FLAC", "PCM_16", 1e-3),
        (".ogg", "OGG", "VORBIS", 0.1),
    ],
)
def test_decodes_lossless_and_vorbis_files_to_mono_float32(
    tmp_path: Path, tone, suffix: str, file_format: str, subtype: str, tolerance: float
) -> None:
    stereo, rate = tone
    path = tmp_path / f"tone{suffix}"
    sf.write(path, stereo, rate, format=file_format, subtype=subtype)

    samples, native_rate = decode_audio(path)

    assert native_rate == rate
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert samples.shape[0] == stereo.shape[0]
    np.testing.assert_allclose(samples[1000:5000], stereo[1000:5000].mean(axis=1), atol=tolerance)


def test_decodes_mp3_or_reports_it_unsupported(tmp_path: Path, tone) -> None:
    stereo, rate = tone
    path = tmp_path / "tone.mp3"
    try:
        sf.write(path, stereo, rate, format="MP3", subtype="MPEG_LAYER_III")
    except (sf.LibsndfileError, ValueError, TypeError):
        # This libsndfile cannot write MP3 (before 1.1): decoding a fake one must fail cleanly.
        path.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff" * 64)
        with pytest.raises(AudioError, match=r"tone\.mp3"):
            decode_audio(path)
        return
    samples, native_rate = decode_audio(path)
    assert native_rate == rate
    assert samples.dtype == np.float32 and samples.ndim == 1
    # The encoder adds a little delay and padding at the ends.
    assert abs(samples.shape[0] - stereo.shape[0]) < rate // 10
    assert np.abs(samples).max() > 0.2


def test_load_audio_resamples_to_the_requested_rate(tmp_path: Path, tone) -> None:
    stereo, rate = tone
    path = tmp_path / "tone.wav"
    sf.write(path, stereo, rate)

    samples = load_audio(path, 22050)

    assert samples.dtype == np.float32
    assert abs(samples.shape[0] - stereo.shape[0] // 2) <= 1
    spectrum = np.abs(np.fft.rfft(samples))
    peaks = np.fft.rfftfreq(samples.shape[0], 1 / 22050)[np.argsort(spectrum)[-2:]]
    assert sorted(np.round(peaks)) == [440.0, 880.0]


def test_read_audio_info_reads_the_header(tmp_path: Path, tone) -> None:
    stereo, rate = tone
    path = tmp_path / "tone.flac"
    sf.write(path, stereo, rate)
    info = read_audio_info(path)
    assert (info.sample_rate, info.channels, info.frames) == (rate, 2, stereo.shape[0])
    assert info.duration == pytest.approx(2.0)


def _truncated(tmp_path: Path, tone, suffix: str) -> Path:
    stereo, rate = tone
    whole = tmp_path / f"whole{suffix}"
    sf.write(whole, stereo, rate)
    cut = tmp_path / f"cut{suffix}"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    return cut


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda tmp, tone: tmp / "missing.wav", "file not found"),
        (lambda tmp, tone: _write(tmp / "empty.wav", b""), "file is empty"),
        (lambda tmp, tone: _write(tmp / "notes.wav", b"not audio at all " * 40), "not a supported"),
        # An MP4 header with nothing in it: read since issue 33 (PyAV), and refused as broken.
        (
            lambda tmp, tone: _write(tmp / "song.m4a", b"\x00\x00\x00\x20ftypM4A " * 20),
            "corrupt or unreadable audio: Invalid data",
        ),
        (lambda tmp, tone: _truncated(tmp, tone, ".wav"), "truncated"),
        (lambda tmp, tone: _truncated(tmp, tone, ".flac"), "corrupt|truncated"),
        (lambda tmp, tone: _truncated(tmp, tone, ".ogg"), "corrupt|truncated"),
        (lambda tmp, tone: _zero_samples(tmp / "silent.wav"), "no audio samples"),
    ],
    ids=["missing", "empty", "text", "unsupported", "cut-wav", "cut-flac", "cut-ogg", "no-samples"],
)
def test_bad_audio_raises_audio_error_naming_the_file(tmp_path: Path, tone, make, problem) -> None:
    path = make(tmp_path, tone)
    with pytest.raises(AudioError, match=problem) as caught:
        decode_audio(path)
    assert str(path) in str(caught.value)
    assert "\n" not in str(caught.value)


def test_corrupt_flac_body_raises_audio_error(tmp_path: Path, tone) -> None:
    stereo, rate = tone
    path = tmp_path / "noisy.flac"
    sf.write(path, stereo, rate)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(0)
    middle = len(data) // 3
    data[middle : middle + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with pytest.raises(AudioError, match=r"noisy\.flac"):
        decode_audio(path)


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _zero_samples(path: Path) -> Path:
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 22050)
    return path


@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize(
    ("subtype", "file_format"),
    [("PCM_16", "WAV"), ("PCM_16", "FLAC"), ("PCM_24", "WAV"), ("FLOAT", "WAV")],
)
def test_the_mixdown_equals_libsndfiles_floats_averaged_to_the_bit(
    tmp_path: Path, channels: int, subtype: str, file_format: str
) -> None:
    """16-bit files are read as integers (the fast path): same float32 values as the float read."""
    rng = np.random.default_rng(channels)
    audio = np.clip(0.5 * rng.standard_normal((22050, channels)), -1, 1).astype(np.float32)
    path = tmp_path / f"mix.{file_format.lower()}"
    sf.write(path, audio, 22050, subtype=subtype, format=file_format)
    expected = sf.read(path, dtype="float32", always_2d=True)[0].mean(axis=1, dtype=np.float32)
    mono, rate = decode_audio(path)
    assert rate == 22050 and mono.dtype == np.float32
    assert np.array_equal(mono, expected)
