"""Confidence on hand-made activations: a clean pulse is sure, a flat or ambiguous one is not."""

from __future__ import annotations

import numpy as np
import pytest

from edm.decoding.activations import FrameActivations
from edm.decoding.confidence import (
    beat_confidence,
    geometric_mean,
    tempo_confidence,
    track_confidence,
)
from edm.decoding.tempo import estimate_beat_grid
from edm.vocabulary import LABELS

FPS = 50.0
SECONDS = 60.0


def pulse(bpm: float, *, off_beats: float = 0.0, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    n = int(SECONDS * FPS)
    activation = np.zeros(n)
    period = 60.0 / bpm
    for time in np.arange(0.5, SECONDS - 0.1, period):
        activation[round(time * FPS)] = 1.0
        if off_beats:
            activation[round((time + period / 2) * FPS)] = off_beats
    activation += noise * np.random.default_rng(seed).random(n)
    return np.clip(activation, 0.0, 1.0)


def activations(beat: np.ndarray) -> FrameActivations:
    n = beat.size
    label = np.full((len(LABELS), n), 0.1)
    return FrameActivations(
        frame_rate=FPS,
        beat=beat,
        downbeat=np.zeros(n),
        boundary=np.zeros(n),
        energy=np.full((3, n), 0.5),
        label=label,
    )


def confidence_of(beat: np.ndarray, section_confidences=(0.9, 0.8)):
    grid = estimate_beat_grid(beat, FPS)
    assert grid is not None
    beats = grid.times(beat.size)
    return track_confidence(activations(beat), beats, grid.bpm, section_confidences), grid


@pytest.mark.parametrize("bpm", [124.0, 174.0])
def test_a_clean_pulse_is_sure(bpm: float) -> None:
    confidence, grid = confidence_of(pulse(bpm))
    assert grid.bpm == pytest.approx(bpm, rel=0.01)
    assert confidence.beats > 0.95 and confidence.tempo > 0.9
    assert confidence.sections == pytest.approx(0.85)
    assert confidence.overall == pytest.approx(
        geometric_mean((confidence.beats, confidence.tempo, 0.85))
    )
    assert confidence.overall > 0.85


def test_noise_between_the_beats_costs_little() -> None:
    confidence, _ = confidence_of(pulse(128.0, noise=0.2))
    assert confidence.tempo > 0.8


def test_off_beats_as_strong_as_the_beats_make_the_tempo_unsure() -> None:
    """Every half beat at full height: 128 or 256 BPM cannot be told apart."""
    clean = tempo_confidence(pulse(128.0), FPS, 128.0)
    ambiguous = tempo_confidence(pulse(128.0, off_beats=1.0), FPS, 128.0)
    assert ambiguous < 0.3 < clean


def test_a_flat_activation_is_not_sure_of_any_tempo() -> None:
    flat = np.full(int(SECONDS * FPS), 0.47) + 0.01 * np.random.default_rng(1).random(3000)
    grid = estimate_beat_grid(flat, FPS)
    assert grid is not None
    assert tempo_confidence(flat, FPS, grid.bpm) < 0.4


def test_beats_off_their_peaks_and_no_beat_at_all() -> None:
    beat = pulse(120.0)
    on = np.flatnonzero(beat == 1.0).astype(float)
    assert beat_confidence(beat, on + 1.0) == pytest.approx(1.0)  # ±1 frame is tolerated
    assert beat_confidence(beat, on + 5.0) == pytest.approx(0.0)
    nothing = track_confidence(activations(np.zeros(3000)), [], None, [0.9])
    assert (nothing.beats, nothing.tempo, nothing.overall) == (0.0, 0.0, 0.0)
    assert nothing.sections == pytest.approx(0.9)


def test_every_number_is_in_the_unit_interval_and_rounded_in_json() -> None:
    rng = np.random.default_rng(5)
    for _ in range(5):
        confidence, _ = confidence_of(
            np.clip(pulse(140.0) * rng.random() + rng.random(3000) * 0.5, 0, 1)
        )
        document = confidence.to_dict()
        assert all(0.0 <= value <= 1.0 for value in document.values())
        assert all(round(value, 3) == value for value in document.values())
