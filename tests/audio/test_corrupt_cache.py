"""A corrupt cache entry is discarded and computed again; a cache that cannot be written costs
a warning, never the features."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edm.audio.cache import FeatureCache, file_sha256, load_features, load_waveform
from edm.audio.features import FeatureParams


@pytest.fixture
def audio_file(tmp_path: Path, tone) -> Path:
    stereo, rate = tone
    path = tmp_path / "tone.wav"
    sf.write(path, stereo, rate)
    return path


def _entry(cache: FeatureCache, audio: Path, params: FeatureParams) -> Path:
    return cache.path_for(file_sha256(audio), params.cache_key())


CORRUPTIONS = {
    "wrong shape": lambda path: np.save(path, np.zeros((3, 7), np.float32)),
    "one dimension": lambda path: np.save(path, np.zeros(80, np.float32)),
    "NaN": lambda path: np.save(path, np.full((80, 10), np.nan, np.float32)),
    "wrong dtype": lambda path: np.save(path, np.zeros((80, 10), np.int64)),
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:200]),
    "not npy": lambda path: path.write_text("hello"),
    "empty": lambda path: path.write_bytes(b""),
}


@pytest.mark.parametrize("mmap", [False, True])
@pytest.mark.parametrize("kind", sorted(CORRUPTIONS))
def test_a_corrupt_entry_is_recomputed(
    tmp_path: Path, audio_file: Path, kind: str, mmap: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cache = FeatureCache(tmp_path / "cache")
    params = FeatureParams()
    good = load_features(audio_file, params, cache)
    entry = _entry(cache, audio_file, params)
    CORRUPTIONS[kind](entry)

    with caplog.at_level(logging.WARNING, logger="edm.audio.cache"):
        again = load_features(audio_file, params, cache, mmap=mmap)

    np.testing.assert_array_equal(np.asarray(again), good)
    assert any(str(entry) in r.getMessage() for r in caplog.records)
    np.testing.assert_array_equal(np.load(entry), good)  # stored again, sound


def test_a_corrupt_waveform_entry_is_recomputed(tmp_path: Path, audio_file: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    good = load_waveform(audio_file, 22050, cache)
    (entry,) = (tmp_path / "cache").rglob("*.npy")
    np.save(entry, np.zeros((2, 2), np.float32))
    np.testing.assert_array_equal(load_waveform(audio_file, 22050, cache), good)


def test_an_unwritable_cache_costs_a_warning_not_the_features(
    tmp_path: Path, audio_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="edm.audio.cache"):
        features = load_features(audio_file, cache=FeatureCache(blocked), mmap=True)
    assert features.shape[0] == FeatureParams().n_mels
    assert any("cannot write cache entry" in r.getMessage() for r in caplog.records)
