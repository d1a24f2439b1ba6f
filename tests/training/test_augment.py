"""Training-time augmentation on log-mel crops: targets move with time-stretch and only then."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from edm.audio.features import FeatureParams
from edm.data.dataset import IGNORE_INDEX, TrainingDataset, load_dataset
from edm.data.targets import gaussian_peaks, widened_peaks
from edm.errors import ConfigError
from edm.training import TrainingConfig
from edm.training.augment import (
    AugmentedTrainingDataset,
    band_centres,
    spectral_augment,
    time_stretch,
)
from edm.training.augment_settings import AugmentSettings

PARAMS = FeatureParams()
LENGTH = 400


def _item(beats: list[int], downbeats: list[int], boundaries: list[int]) -> dict:
    rng = np.random.default_rng(0)
    label = np.zeros(LENGTH, dtype=np.int64)
    label[200:] = 3
    energy = np.zeros((3, LENGTH), dtype=np.float32)
    energy[:, 200:] = 0.8
    return {
        "features": torch.from_numpy(rng.uniform(0, 5, (PARAMS.n_mels, LENGTH)).astype("f4")),
        "beat": torch.from_numpy(widened_peaks(np.array(beats), LENGTH)),
        "downbeat": torch.from_numpy(widened_peaks(np.array(downbeats), LENGTH)),
        "boundary": torch.from_numpy(gaussian_peaks(np.array(boundaries), LENGTH, 2.0)),
        "label": torch.from_numpy(label),
        "energy": torch.from_numpy(energy),
        "mask": torch.ones(LENGTH, dtype=torch.bool),
    }


def _peaks(target: torch.Tensor) -> list[int]:
    return np.flatnonzero(target.numpy() >= 1.0).tolist()


@pytest.mark.parametrize("rate", [0.9, 1.0, 1.12])
def test_time_stretch_moves_every_target_from_f_to_f_over_rate(rate: float) -> None:
    beats, downbeats, boundaries = [40, 80, 120, 160, 200], [40, 200], [200]
    length = int(LENGTH / rate) - 2
    out = time_stretch(_item(beats, downbeats, boundaries), rate, length)
    assert _peaks(out["beat"]) == [round(f / rate) for f in beats]
    assert _peaks(out["downbeat"]) == [round(f / rate) for f in downbeats]
    assert _peaks(out["boundary"]) == [round(200 / rate)]
    change = int(np.argmax(out["label"].numpy() == 3))
    assert abs(change - 200 / rate) <= 1
    assert abs(int(np.argmax(out["energy"].numpy()[0] > 0)) - 200 / rate) <= 1
    assert out["features"].shape == (PARAMS.n_mels, length)
    assert out["beat"].shape == out["mask"].shape == (length,)


def test_time_stretch_with_an_offset_drops_events_outside_and_keeps_the_widths() -> None:
    out = time_stretch(_item([4, 50, 390], [4], []), 1.1, 300, offset=8)
    assert _peaks(out["beat"]) == [round((50 - 8) / 1.1)]
    beat = out["beat"].numpy()
    assert beat[37] == beat[39] == pytest.approx(0.5)  # neighbours, as the targets draw them


def test_stretching_past_the_source_end_is_padding() -> None:
    out = time_stretch(_item([100], [100], []), 1.2, 400)
    mask = out["mask"].numpy()
    assert mask[: int(399 / 1.2)].all() and not mask[-1]
    assert (out["label"].numpy()[~mask] == IGNORE_INDEX).all()
    assert (out["beat"].numpy()[~mask] == 0).all()


def test_gain_shifts_the_log_mel_like_louder_audio_would() -> None:
    magnitude = np.full((PARAMS.n_mels, 10), 0.01)
    features = torch.from_numpy(np.log1p(PARAMS.log_multiplier * magnitude).astype("f4"))
    only_gain = AugmentSettings(
        probability=1.0,
        gain_db=6.0,
        filter_db=0,
        pitch_semitones=0,
        noise_db=-200,
        stretch=0,
        freq_masks=0,
    )
    out = spectral_augment(features, PARAMS, only_gain, np.random.default_rng(3)).numpy()
    ratio = np.expm1(out) / np.expm1(features.numpy())
    assert np.allclose(ratio, ratio[0, 0], rtol=1e-4)  # one factor for every band and frame
    assert 10 ** (-6 / 20) - 1e-4 <= ratio[0, 0] <= 10 ** (6 / 20) + 1e-4
    assert not np.allclose(ratio, 1.0)


def test_pitch_shift_moves_a_tone_up_the_bands() -> None:
    centres = band_centres(PARAMS)
    band = int(np.argmin(np.abs(centres - 1000.0)))
    magnitude = np.zeros((PARAMS.n_mels, 4))
    magnitude[band] = 1.0
    features = torch.from_numpy(np.log1p(PARAMS.log_multiplier * magnitude).astype("f4"))
    only_pitch = AugmentSettings(
        probability=1.0,
        gain_db=0,
        filter_db=0,
        pitch_semitones=12.0,
        noise_db=-200,
        stretch=0,
        freq_masks=0,
    )
    moved = []
    for seed in range(6):
        out = spectral_augment(features, PARAMS, only_pitch, np.random.default_rng(seed))
        moved.append(int(out.numpy()[:, 0].argmax()) - band)
    assert any(m > 0 for m in moved) and any(m < 0 for m in moved)


@pytest.fixture(scope="module")
def tracks(synth_data: Path):
    return load_dataset(synth_data).tracks[:2]


def test_augmented_crops_keep_targets_unless_stretched(tracks, tmp_path: Path) -> None:
    """Gain, filter, pitch, noise and masks change the features, never the targets."""
    no_stretch = AugmentSettings(probability=1.0, stretch=0.0)
    plain = TrainingDataset(tracks, crop_seconds=8.0, crops_per_track=3, seed=5)
    augmented = AugmentedTrainingDataset(
        tracks, settings=no_stretch, crop_seconds=8.0, crops_per_track=3, seed=5
    )
    for index in range(len(plain)):
        a, b = augmented[index], augmented[index]
        assert torch.equal(a["features"], b["features"])  # reproducible per (seed, epoch, index)
        reference = plain.source.window(
            plain.tracks[index % 2], int(a["start_frame"]), plain.crop_frames
        )
        for key in ("beat", "downbeat", "boundary", "label", "energy", "mask"):
            assert torch.equal(a[key], reference[key]), key
        assert not torch.equal(a["features"], reference["features"])


def test_stretched_crops_come_at_the_crop_length_with_moved_beats(tracks) -> None:
    only_stretch = AugmentSettings(
        probability=1.0,
        gain_db=0,
        filter_db=0,
        pitch_semitones=0,
        noise_db=-200,
        stretch=0.2,
        freq_masks=0,
    )
    dataset = AugmentedTrainingDataset(
        tracks, settings=only_stretch, crop_seconds=8.0, crops_per_track=2, seed=1
    )
    frame_rate = PARAMS.frame_rate
    for index in range(len(dataset)):
        item = dataset[index]
        assert item["features"].shape[-1] == dataset.crop_frames
        beats = np.array(_peaks(item["beat"]))
        spacing = np.median(np.diff(beats))
        track_period = tracks[index % 2].annotation.audio.beat_duration * frame_rate
        rate = track_period / spacing
        assert 0.78 <= rate <= 1.22 and abs(rate - 1.0) > 0.005  # a faster or slower track


def test_config_fields_are_validated_and_logged() -> None:
    with pytest.raises(ConfigError, match="augment_stretch"):
        TrainingConfig.create(augment_stretch=0.7)
    with pytest.raises(ConfigError, match="augment_probability"):
        TrainingConfig.create(augment_probability=1.5)
    params = TrainingConfig().to_params()
    assert params["augment"] is True and params["augment_stretch"] == 0.12
    assert TrainingConfig(augment=False).augment_settings() is None
    assert "augment_gain_db" not in TrainingConfig(augment=False).to_params()
    off = TrainingConfig(
        augment_probability=0.0,
    ).augment_settings()
    assert off is None
