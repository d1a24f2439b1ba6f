"""Augmentation while training, done on the cached log-mel features rather than on audio.

Features are computed once and read from the cache (``bench/train_input.py``: a warm cache is
about 76x faster than decoding every epoch), so every augmentation here works on the cached
``log(1 + k * mel)`` frames and keeps that speed:

- gain, filtering (a random tilt plus a low or high shelf) and noise are exact or nearly so in
  the mel *magnitude* domain: the log is undone, bands are scaled or a noise floor added, and the
  log is taken again (a filter is exact up to the overlap of neighbouring mel triangles);
- pitch shift moves every band to the band whose centre frequency is ``ratio`` times its own
  (interpolated across band centres): approximate, as a mel band mixes several FFT bins;
- time-stretch reads ``rate`` times as many source frames and resamples them to the crop length,
  and moves the targets with them: a beat, downbeat or boundary at source frame ``f`` lands on
  ``f / rate``, labels and energy follow by nearest frame. A stretched crop is a track at
  ``rate`` times the tempo.
- SpecAugment-style masks blank a few mel bands (and, if asked, short time spans).

Targets stay untouched except under time-stretch. Each crop's draws depend only on
``(seed, epoch, index)``, like the crops themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from edm.audio.features import FeatureParams, hz_to_mel, mel_to_hz
from edm.data.dataset import IGNORE_INDEX, TrainingDataset
from edm.data.targets import DEFAULT_BOUNDARY_SIGMA, gaussian_peaks, widened_peaks
from edm.data.tracks import Track
from edm.training.augment_settings import AugmentSettings

EVENT_KEYS = ("beat", "downbeat")
_MARGIN = 8  # source frames read beyond each edge, so events just outside a crop still count
_AUGMENT_SALT = 0x5EED


class AugmentedTrainingDataset(TrainingDataset):
    """A :class:`TrainingDataset` whose crops are augmented (log-mel input only)."""

    def __init__(
        self, tracks: Sequence[Track], *, settings: AugmentSettings, **kwargs: Any
    ) -> None:
        super().__init__(tracks, **kwargs)
        if self.source.input != "mel":
            raise ValueError("training augmentation works on log-mel input only")
        self.settings = settings
        self.boundary_sigma = self.source.boundary_sigma

    def __getitem__(self, index: int) -> dict[str, Any]:
        if not 0 <= index < len(self):
            raise IndexError(index)
        track = self.tracks[index % len(self.tracks)]
        rng = np.random.default_rng([abs(self.seed), self.epoch, index, _AUGMENT_SALT])
        s = self.settings
        rate = 1.0
        if s.stretch > 0 and rng.random() < s.probability:
            rate = float(rng.uniform(1.0 - s.stretch, 1.0 + s.stretch))
        source_frames = max(1, round(self.crop_frames * rate))
        last_start = max(0, self.source.n_frames(track) - source_frames)
        start = int(rng.integers(last_start + 1))
        if rate == 1.0:
            item = self.source.window(track, start, self.crop_frames)
        else:
            first = max(0, start - _MARGIN)
            wide = self.source.window(track, first, source_frames + (start - first) + _MARGIN)
            item = time_stretch(
                wide, rate, self.crop_frames, offset=start - first, sigma=self.boundary_sigma
            )
            item["start_frame"] = torch.tensor(start, dtype=torch.int64)
        item["features"] = spectral_augment(item["features"], self.params, s, rng)
        return item


def time_stretch(
    item: dict[str, Any],
    rate: float,
    length: int,
    *,
    offset: int = 0,
    sigma: float = DEFAULT_BOUNDARY_SIGMA,
) -> dict[str, Any]:
    """Output frame ``j`` is source frame ``offset + j * rate``: ``rate`` > 1 speeds up.

    Features are interpolated linearly in time; beat/downbeat/boundary peaks are found in the
    source (frames at 1.0) and redrawn at ``(f - offset) / rate``; labels, energy and the mask
    follow the nearest source frame (padding stays padding).
    """
    if rate <= 0:
        raise ValueError(f"time-stretch rate must be positive, got {rate}")
    positions = offset + np.arange(length) * rate
    n_source = item["mask"].shape[-1]
    nearest = np.clip(np.round(positions).astype(np.int64), 0, n_source - 1)
    beyond = positions > n_source - 1  # past what was read: padding
    out = dict(item)
    features = item["features"].numpy()
    left = np.clip(np.floor(positions).astype(np.int64), 0, n_source - 1)
    right = np.minimum(left + 1, n_source - 1)
    weight = (positions - left).astype(np.float32)
    out["features"] = torch.from_numpy(
        (features[:, left] * (1 - weight) + features[:, right] * weight).astype(np.float32)
    )
    mask = item["mask"].numpy()[nearest] & ~beyond
    out["mask"] = torch.from_numpy(mask)
    label = item["label"].numpy()[nearest].copy()
    label[~mask] = IGNORE_INDEX
    out["label"] = torch.from_numpy(label)
    energy = item["energy"].numpy()[:, nearest].copy()
    energy[:, ~mask] = 0.0
    out["energy"] = torch.from_numpy(energy)
    for key in EVENT_KEYS:
        frames = _moved(_peak_frames(item[key].numpy()), offset, rate)
        out[key] = torch.from_numpy(widened_peaks(frames, length) * mask)
    boundaries = _moved(_peak_frames(item["boundary"].numpy()), offset, rate)
    out["boundary"] = torch.from_numpy(gaussian_peaks(boundaries, length, sigma) * mask)
    return out


def _peak_frames(target: np.ndarray) -> np.ndarray:
    return np.flatnonzero(target >= 1.0 - 1e-6)


def _moved(frames: np.ndarray, offset: int, rate: float) -> np.ndarray:
    return np.round((frames - offset) / rate).astype(np.int64)


def spectral_augment(
    features: torch.Tensor,
    params: FeatureParams,
    settings: AugmentSettings,
    rng: np.random.Generator,
) -> torch.Tensor:
    """Gain, filter, pitch shift, noise and masks on one ``(n_mels, T)`` log-mel crop."""
    s = settings
    x = features.numpy().astype(np.float64)
    magnitude = np.expm1(x) / params.log_multiplier
    centres = band_centres(params)
    changed = False
    if s.pitch_semitones > 0 and rng.random() < s.probability:
        semitones = rng.uniform(-s.pitch_semitones, s.pitch_semitones)
        magnitude = pitch_shift(magnitude, centres, 2.0 ** (semitones / 12.0))
        changed = True
    band_db = np.zeros(len(centres))
    if s.gain_db > 0 and rng.random() < s.probability:
        band_db += rng.uniform(-s.gain_db, s.gain_db)
    if s.filter_db > 0 and rng.random() < s.probability:
        band_db += random_filter_db(centres, s.filter_db, rng)
    if band_db.any():
        magnitude = magnitude * (10.0 ** (band_db / 20.0))[:, None]
        changed = True
    if s.noise_db > -120 and rng.random() < s.probability:
        level = magnitude.mean() * 10.0 ** (rng.uniform(s.noise_db - 30.0, s.noise_db) / 20.0)
        colour = 10.0 ** (random_filter_db(centres, 12.0, rng) / 20.0)
        noise = np.abs(rng.standard_normal(magnitude.shape)) * colour[:, None] * level
        magnitude = magnitude + noise
        changed = True
    if changed:
        x = np.log1p(params.log_multiplier * np.maximum(magnitude, 0.0))
    if s.freq_masks > 0 and rng.random() < s.probability:
        for _ in range(int(rng.integers(1, s.freq_masks + 1))):
            width = int(rng.integers(1, 9))
            low = int(rng.integers(0, max(1, x.shape[0] - width)))
            x[low : low + width] = 0.0
    if s.time_masks > 0 and rng.random() < s.probability:
        for _ in range(int(rng.integers(1, s.time_masks + 1))):
            width = int(rng.integers(1, max(2, round(0.5 * params.frame_rate))))
            low = int(rng.integers(0, max(1, x.shape[1] - width)))
            x[:, low : low + width] = 0.0
    return torch.from_numpy(x.astype(np.float32))


def band_centres(params: FeatureParams) -> np.ndarray:
    """Centre frequency in Hz of each mel band (as ``mel_filterbank`` places them)."""
    edges = mel_to_hz(
        np.linspace(hz_to_mel(params.fmin), hz_to_mel(params.fmax), params.n_mels + 2)
    )
    return np.asarray(edges[1:-1], dtype=np.float64)


def pitch_shift(magnitude: np.ndarray, centres: np.ndarray, ratio: float) -> np.ndarray:
    """Band at frequency f takes what was at f / ratio (interpolated over log frequency)."""
    log_centres = np.log(centres)
    source = log_centres - np.log(ratio)
    out = np.empty_like(magnitude)
    position = np.interp(source, log_centres, np.arange(len(centres)))
    left = np.floor(position).astype(np.int64)
    right = np.minimum(left + 1, len(centres) - 1)
    weight = (position - left)[:, None]
    # Past the edge bands the nearest band is held (np.interp clamps): better than silence
    # where a kick's fundamental sits.
    out[:] = magnitude[left] * (1 - weight) + magnitude[right] * weight
    return out


def random_filter_db(
    centres: np.ndarray, strength_db: float, rng: np.random.Generator
) -> np.ndarray:
    """Per-band dB: a tilt across the spectrum plus a low or a high shelf at a random corner."""
    octaves = np.log2(centres / centres[0])
    tilt = rng.uniform(-strength_db, strength_db) * (octaves / octaves[-1] - 0.5)
    corner = np.log2(rng.uniform(80.0, 4000.0) / centres[0])
    shelf_db = rng.uniform(-strength_db, strength_db)
    rising = 1.0 / (1.0 + np.exp(-(octaves - corner) * 3.0))
    shelf = shelf_db * (rising if rng.random() < 0.5 else 1.0 - rising)
    return tilt + shelf
