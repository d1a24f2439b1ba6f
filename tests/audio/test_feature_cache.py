from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import edm.audio.cache as cache_module
from edm.audio.cache import FeatureCache, default_cache_dir, file_sha256, load_features
from edm.audio.features import FeatureParams, log_mel
from edm.audio.io import load_audio
from edm.errors import AudioError


@pytest.fixture
def audio_file(tmp_path: Path, tone) -> Path:
    stereo, rate = tone
    path = tmp_path / "music" / "tone.wav"
    path.parent.mkdir()
    sf.write(path, stereo, rate)
    return path


@pytest.fixture
def decode_calls(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Counts decodes; every call still runs the real decoder."""
    calls: list[Path] = []

    def counting_load_audio(path, sample_rate):
        calls.append(Path(path))
        return load_audio(path, sample_rate)

    monkeypatch.setattr(cache_module, "load_audio", counting_load_audio)
    return calls


def test_second_call_reads_the_cache_without_decoding(
    tmp_path: Path, audio_file: Path, decode_calls: list[Path]
) -> None:
    cache = FeatureCache(tmp_path / "cache")
    params = FeatureParams()

    first = load_features(audio_file, params, cache)
    second = load_features(audio_file, params, cache)

    assert decode_calls == [audio_file]
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, log_mel(load_audio(audio_file, 22050), params))
    entries = list((tmp_path / "cache").rglob("*.npy"))
    assert entries == [cache.path_for(file_sha256(audio_file), params.cache_key())]
    assert not list((tmp_path / "cache").rglob("*.tmp"))


def test_cache_is_keyed_by_content_not_by_name(
    tmp_path: Path, audio_file: Path, decode_calls: list[Path]
) -> None:
    cache = FeatureCache(tmp_path / "cache")
    load_features(audio_file, cache=cache)
    moved = tmp_path / "elsewhere" / "renamed.wav"
    moved.parent.mkdir()
    shutil.copyfile(audio_file, moved)

    load_features(moved, cache=cache)
    assert decode_calls == [audio_file]

    data, rate = sf.read(audio_file, dtype="float32")
    sf.write(audio_file, data * 0.5, rate)  # same name, new content
    load_features(audio_file, cache=cache)
    assert decode_calls == [audio_file, audio_file]


def test_other_params_compute_new_features(
    tmp_path: Path, audio_file: Path, decode_calls: list[Path]
) -> None:
    cache = FeatureCache(tmp_path / "cache")
    default = load_features(audio_file, FeatureParams(), cache)
    small = load_features(audio_file, FeatureParams(n_mels=40), cache)
    assert (default.shape[0], small.shape[0]) == (80, 40)
    assert len(decode_calls) == 2


def test_unreadable_cache_entry_is_recomputed(
    tmp_path: Path, audio_file: Path, decode_calls: list[Path]
) -> None:
    cache = FeatureCache(tmp_path / "cache")
    good = load_features(audio_file, cache=cache)
    entry = next((tmp_path / "cache").rglob("*.npy"))
    entry.write_bytes(b"garbage")

    again = load_features(audio_file, cache=cache)

    np.testing.assert_array_equal(good, again)
    assert len(decode_calls) == 2
    assert np.load(entry).shape == good.shape


def test_mmap_returns_the_same_values(tmp_path: Path, audio_file: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    computed = load_features(audio_file, cache=cache, mmap=True)
    mapped = load_features(audio_file, cache=cache, mmap=True)
    assert isinstance(mapped, np.memmap)
    np.testing.assert_array_equal(computed, mapped)


def test_default_cache_follows_the_environment(
    tmp_path: Path, audio_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDM_CACHE_DIR", str(tmp_path / "env-cache"))
    assert default_cache_dir() == tmp_path / "env-cache"
    load_features(audio_file)  # cache=True: the default location
    assert len(list((tmp_path / "env-cache").rglob("*.npy"))) == 1


def test_no_cache_writes_nothing(tmp_path: Path, audio_file: Path, decode_calls) -> None:
    load_features(audio_file, cache=False)
    load_features(audio_file, cache=False)
    assert len(decode_calls) == 2
    assert not (tmp_path / "feature-cache").exists()


def test_missing_audio_raises_audio_error(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match=r"gone\.wav: file not found"):
        load_features(tmp_path / "gone.wav", cache=FeatureCache(tmp_path / "cache"))


def test_file_hash_is_the_sha256_of_the_bytes(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "blob.bin"
    data = np.random.default_rng(0).bytes(3 * (1 << 20) + 17)  # crosses chunk boundaries
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()
