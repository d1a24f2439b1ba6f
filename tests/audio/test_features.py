from __future__ import annotations

import numpy as np
import pytest

from edm.audio.features import FeatureParams, log_mel, mel_filterbank, mel_to_hz
from edm.errors import ConfigError


def test_default_params_give_exactly_50_frames_per_second() -> None:
    params = FeatureParams()
    assert params.frame_rate == 50.0
    assert params.n_frames(22050 * 3) == 151


def test_params_round_trip_through_a_dict_and_reject_unknown_keys() -> None:
    params = FeatureParams(n_mels=64, fmax=8000.0)
    assert FeatureParams.from_dict(params.to_dict()) == params
    with pytest.raises(ConfigError, match="hop"):
        FeatureParams.from_dict({**params.to_dict(), "hop": 1})
    with pytest.raises(ConfigError, match="fmax"):
        FeatureParams(fmax=20000.0)


def test_cache_key_changes_with_every_parameter() -> None:
    base = FeatureParams()
    keys = {base.cache_key()}
    for change in ({"n_mels": 64}, {"hop_length": 512}, {"fmin": 20.0}, {"log_multiplier": 1.0}):
        keys.add(FeatureParams(**{**base.to_dict(), **change}).cache_key())
    assert len(keys) == 5
    assert FeatureParams().cache_key() == base.cache_key()


def test_mel_filterbank_has_no_empty_band_and_rising_centres() -> None:
    params = FeatureParams()
    filters = mel_filterbank(params)
    assert filters.shape == (80, 1025)
    assert filters.dtype == np.float32
    assert (filters.max(axis=1) > 0).all()
    centres = filters.argmax(axis=1)
    assert (np.diff(centres) >= 0).all()
    bin_hz = params.sample_rate / params.n_fft
    assert centres[0] * bin_hz < 60 and centres[-1] * bin_hz > 10000


def test_log_mel_shape_dtype_and_a_tone_lands_in_its_band() -> None:
    params = FeatureParams()
    t = np.arange(int(2.5 * params.sample_rate)) / params.sample_rate
    samples = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)

    features = log_mel(samples, params)

    assert features.shape == (80, 1 + samples.size // 441)
    assert features.dtype == np.float32
    loudest_band = int(features[:, 50:-50].mean(axis=1).argmax())
    edges = mel_to_hz(
        np.linspace(2595 * np.log10(1 + 30 / 700), 2595 * np.log10(1 + 11000 / 700), 82)
    )
    assert edges[loudest_band] < 1000 < edges[loudest_band + 2]


def test_silence_gives_zeros_and_short_inputs_work() -> None:
    params = FeatureParams()
    assert np.all(log_mel(np.zeros(22050, dtype=np.float32), params) == 0)
    assert log_mel(np.ones(10, dtype=np.float32), params).shape == (80, 1)


@pytest.mark.parametrize("seconds", [0.01, 3.0, 61.3])
def test_log_mel_equals_torch_stft_within_float32_rounding(seconds: float) -> None:
    """The front end is numpy/scipy (no torch at analysis time); torch.stft is the oracle."""
    torch = pytest.importorskip("torch")
    params = FeatureParams()
    rng = np.random.default_rng(7)
    samples = (0.3 * rng.standard_normal(int(seconds * params.sample_rate))).astype(np.float32)
    window = torch.hann_window(params.n_fft, periodic=True)
    spectrum = torch.stft(
        torch.from_numpy(samples),
        n_fft=params.n_fft,
        hop_length=params.hop_length,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    ).abs()
    filters = torch.from_numpy(mel_filterbank(params))
    expected = torch.log1p(params.log_multiplier * (filters @ spectrum)).numpy()
    features = log_mel(samples, params)
    assert features.shape == expected.shape
    assert features.dtype == np.float32 and features.flags.c_contiguous
    assert np.abs(features - expected).max() < 1e-4
