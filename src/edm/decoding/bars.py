"""Bar-level evidence: what the activations (and, when given, the input features) look like
beat by beat and bar by bar, and the downbeat phase that the whole track supports best.

A model that learned one generator's sounds can put its downbeat activation on the wrong beat
of the bar for music made another way, typically half a bar off after a pickup. What holds for
any 4/4 dance music is that things change at bar lines: sections (and their energy) start on
downbeats, chords change on them, and section starts fall on a phrase grid of 4, 8 or 16 bars.
So each of the ``beats_per_bar`` phases is scored by the model's downbeat activation *and* by
how much changes at its beats, over the whole track (pickup beats before bar 1 are a few
beats out of hundreds, so they cannot move the phase).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from scipy.ndimage import maximum_filter1d

from edm.decoding.activations import FrameActivations

_EPS = 1e-9
_MEL_GROUP = 4  # adjacent mel bins averaged: keeps pitch-scale detail, drops noise


@dataclass(frozen=True)
class PhaseWeights:
    """How much each kind of evidence counts when choosing the downbeat phase.

    Every cue is turned into an effect size (phase mean minus the mean over phases, in units of
    the cue's spread over beats), so a cue that does not tell phases apart contributes ~0 and a
    perfect impulse train contributes about 1.7 times its weight.
    """

    downbeat: float = 1.0  # the model's downbeat activation at the beats
    change: float = 1.0  # change of the track's descriptors at the beat (bar-line change)
    boundary: float = 0.6  # the model's section-boundary activation at the beat
    phrase: float = 0.6  # the above on a 16-beat (4-bar) grid: phrases start on downbeats


def frame_descriptors(activations: FrameActivations) -> list[np.ndarray]:
    """Groups of per-frame descriptors ``(d, T)``, each z-scored per row over the track:
    energy bands, label probabilities and, when present, the (coarsened) input features.

    Groups are kept apart so that each can be weighed equally, whatever its dimension.
    """
    groups = [_standardise(np.asarray(activations.energy, dtype=np.float64), 0.02)]
    label = np.asarray(activations.label, dtype=np.float64)
    row = activations.unlabeled_index
    if row is not None and label.shape[0] > 1:
        label = np.delete(label, row, axis=0)
    groups.append(_standardise(label, 0.02))
    if activations.features is not None:
        features = np.asarray(activations.features, dtype=np.float64)
        usable = features.shape[0] - features.shape[0] % _MEL_GROUP
        if usable >= _MEL_GROUP:
            features = features[:usable].reshape(-1, _MEL_GROUP, features.shape[1]).mean(axis=1)
        groups.append(_standardise(features, 1e-3 * float(np.std(features)) + 1e-9))
    return groups


# Where the log-mel bins (HTK scale, 30 Hz .. 11 kHz) cross 250 Hz and 4 kHz, as fractions
# of the bins: kick and bass below, leads and pads between, hats and noise above.
_BAND_EDGES = (0.095, 0.67)


def band_levels(features: np.ndarray | None) -> np.ndarray | None:
    """Per frame the mean log-mel level of the low, mid and high bins ``(3, T)``; None when
    there are no features (a model that takes audio), or too few bins to split."""
    if features is None or features.shape[0] < 6:
        return None
    n = features.shape[0]
    cuts = [0, *(max(1, round(edge * n)) for edge in _BAND_EDGES), n]
    return np.stack([features[a:b].mean(axis=0) for a, b in pairwise(cuts)])


def segment_means(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Means of ``values`` ``(d, T)`` between consecutive frame ``edges`` (fractional frames):
    ``(d, len(edges) - 1)``; an empty span takes the frame at its start."""
    n = values.shape[1]
    bounds = np.clip(np.round(edges).astype(np.int64), 0, n)
    starts, ends = bounds[:-1], np.maximum(bounds[1:], np.minimum(bounds[:-1] + 1, n))
    if n == 0 or starts.size == 0:
        return np.zeros((values.shape[0], max(len(edges) - 1, 0)))
    cumulative = np.concatenate([np.zeros((values.shape[0], 1)), np.cumsum(values, axis=1)], 1)
    lengths = np.maximum(ends - starts, 1)
    starts = np.minimum(starts, n - 1)
    ends = np.maximum(ends, starts + 1)
    return (cumulative[:, ends] - cumulative[:, starts]) / lengths


def change_curve(units: list[np.ndarray], widths: tuple[int, ...] = (1, 2, 4)) -> np.ndarray:
    """How much the descriptors change at the start of each unit (beat or bar): the distance
    between the means of the ``w`` units before and the ``w`` units from it, for each width,
    each group scaled by its median so that groups count alike; ``(n_units,)``, ~1 typical."""
    n = units[0].shape[1] if units else 0
    total = np.zeros(n)
    for group in units:
        cumulative = np.concatenate([np.zeros((group.shape[0], 1)), np.cumsum(group, 1)], 1)
        for width in widths:
            index = np.arange(n)
            lo = np.clip(index - width, 0, n)
            hi = np.clip(index + width, 0, n)
            before = (cumulative[:, index] - cumulative[:, lo]) / np.maximum(index - lo, 1)
            after = (cumulative[:, hi] - cumulative[:, index]) / np.maximum(hi - index, 1)
            distance = np.sqrt(((after - before) ** 2).mean(axis=0))
            distance[(index - lo == 0) | (hi - index == 0)] = 0.0  # no "before" or "after"
            # A floor on the scale: a group that never changes must not have its rounding
            # noise scaled up to look like change.
            moving = distance[distance > 0]
            scale = max(float(np.median(moving)) if moving.size else 0.0, 0.05)
            total += distance / scale
    return total / max(len(units) * len(widths), 1)


def phase_scores(
    activations: FrameActivations,
    beat_frames: np.ndarray,
    beats_per_bar: int,
    weights: PhaseWeights | None = None,
    descriptors: list[np.ndarray] | None = None,
) -> np.ndarray:
    """A score per phase (beat index mod ``beats_per_bar``): higher = more like a downbeat."""
    weights = weights or PhaseWeights()
    n_beats = beat_frames.size
    if n_beats < 2 * beats_per_bar:
        return _phase_means(_at(activations.downbeat, beat_frames), beats_per_bar)
    descriptors = descriptors if descriptors is not None else frame_descriptors(activations)
    edges = _beat_edges(beat_frames, activations.n_frames)
    beats = [segment_means(group, edges) for group in descriptors]
    cues = {
        "downbeat": _at(activations.downbeat, beat_frames),
        "change": change_curve(beats),
        "boundary": _at(activations.boundary, beat_frames, radius=2),
    }
    total = np.zeros(beats_per_bar)
    for name, values in cues.items():
        total += getattr(weights, name) * _effect(values, beats_per_bar)
    if weights.phrase:
        # Phrase grid: the same evidence folded on 4 bars; a phase is as good as its best
        # phrase origin, so 16-bar sections that start on bar 1 or on bar 3 both count.
        phrase = cues["change"] / (np.mean(cues["change"]) + _EPS) + cues["boundary"] / (
            np.mean(cues["boundary"]) + _EPS
        )
        folded = _effect(phrase, 4 * beats_per_bar)
        total += weights.phrase * folded.reshape(4, beats_per_bar).max(axis=0)
    return total


def choose_phase(scores: np.ndarray) -> int:
    return int(np.argmax(scores))


def _effect(values: np.ndarray, period: int) -> np.ndarray:
    """Per phase of ``period``: (phase mean - mean over phases) / spread of ``values``."""
    means = _phase_means(values, period)
    return (means - means.mean()) / (np.std(values) + _EPS)


def _phase_means(values: np.ndarray, period: int) -> np.ndarray:
    means = np.zeros(period)
    for offset in range(period):
        chunk = values[offset::period]
        means[offset] = chunk.mean() if chunk.size else 0.0
    return means


def _beat_edges(beat_frames: np.ndarray, n_frames: int) -> np.ndarray:
    period = float(np.median(np.diff(beat_frames))) if beat_frames.size > 1 else 1.0
    return np.append(beat_frames, min(beat_frames[-1] + period, n_frames))


def _at(values: np.ndarray, positions: np.ndarray, radius: int = 1) -> np.ndarray:
    """``values`` (max over ``±radius`` frames) interpolated at fractional ``positions``."""
    tolerant = maximum_filter1d(np.asarray(values, dtype=np.float64), 2 * radius + 1)
    return np.interp(positions, np.arange(tolerant.size), tolerant)


def _standardise(group: np.ndarray, floor: float) -> np.ndarray:
    """Rows to zero mean and unit spread; a row that barely moves (spread under ``floor``)
    stays small instead of having its noise blown up."""
    mean = group.mean(axis=1, keepdims=True)
    std = group.std(axis=1, keepdims=True)
    return (group - mean) / np.maximum(std, floor)
