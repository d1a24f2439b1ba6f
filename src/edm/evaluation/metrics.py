"""Scores of one decoded track against its annotation, with mir_eval where a standard exists.

- ``beat_f``, ``downbeat_f``: ``mir_eval.beat.f_measure`` (±70 ms) over the whole file: no
  ``trim_beats``, so beats placed in a lead-in's silence count against the answer. The
  reference beats run from bar 1 to the music's end (``edm.data.targets.beat_times``).
- ``beat_cmlt``, ``beat_amlt``: mir_eval's continuity (total correct at the annotated metrical
  level; at any level: double, half, off-beat): AMLt high where CMLt is low is an octave or
  phase error that F alone hides. ``beat_info_gain``: mir_eval's information gain (0..1,
  normalised by mir_eval), how peaked the beat errors are.
- ``boundary_{p,r,f}_{0.5,3}``: ``mir_eval.segment.detection`` with windows of ±0.5 s and ±3 s.
  Boundaries are the section starts after 0: a lead-in before the first section becomes an
  interval of its own, and ``trim=True`` drops the track's start (0) and end, which every
  answer would get right for free.
- ``label_accuracy``: the fraction of annotated frames (those after the first section start)
  whose decoded label is the annotated one.
- ``energy_corr``: Pearson correlation between decoded and annotated per-frame energy, per band
  over the annotated frames, averaged over the bands that vary; NaN without energy annotation.
- ``bpm_accuracy`` (tempo Acc1): 1 when the BPM is within 4 % of the annotation, else 0 (half or
  double tempo is wrong); ``bpm_acc2`` (Acc2): the same, also counting 2x, 1/2, 3x and 1/3 of
  it: Acc2 above Acc1 means octave errors.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise

import mir_eval
import numpy as np

from edm.data.annotations import Annotation
from edm.data.targets import IGNORE_INDEX, beat_times, downbeat_times, frame_targets
from edm.decoding.structure import TrackStructure
from edm.vocabulary import LABELS, UNLABELED

BEAT_TOLERANCE_SECONDS = 0.07
BOUNDARY_WINDOWS = (0.5, 3.0)
BPM_TOLERANCE = 0.04
SCORING_FRAME_RATE = 50.0

METRIC_NAMES: tuple[str, ...] = (
    "beat_f",
    "beat_cmlt",
    "beat_amlt",
    "beat_info_gain",
    "downbeat_f",
    "boundary_p_0.5",
    "boundary_r_0.5",
    "boundary_f_0.5",
    "boundary_p_3",
    "boundary_r_3",
    "boundary_f_3",
    "label_accuracy",
    "energy_corr",
    "bpm_accuracy",
    "bpm_acc2",
)
"""Per-track scores, all in 0..1 (``energy_corr`` in -1..1); aggregates are their means."""
OCTAVE_FACTORS = (1.0, 2.0, 0.5, 3.0, 1.0 / 3.0)


def score_track(reference: Annotation, estimate: TrackStructure) -> dict[str, float]:
    """Every metric of :data:`METRIC_NAMES` for one track."""
    reference_beats = beat_times(reference)
    scores = {
        "beat_f": beat_f_measure(reference_beats, estimate.beats),
        **beat_continuity(reference_beats, estimate.beats),
        "downbeat_f": beat_f_measure(downbeat_times(reference), estimate.downbeats),
    }
    duration = reference.audio.duration
    reference_starts = [s.time for s in reference.structure]
    estimated_starts = [s.start for s in estimate.sections]
    for window in BOUNDARY_WINDOWS:
        p, r, f = boundary_detection(reference_starts, estimated_starts, duration, window)
        name = f"{window:g}"
        scores |= {f"boundary_p_{name}": p, f"boundary_r_{name}": r, f"boundary_f_{name}": f}
    label_acc, energy_corr = frame_scores(reference, estimate)
    scores["label_accuracy"] = label_acc
    scores["energy_corr"] = energy_corr
    scores["bpm_accuracy"] = float(bpm_correct(reference.audio.bpm, estimate.bpm))
    scores["bpm_acc2"] = float(bpm_correct(reference.audio.bpm, estimate.bpm, OCTAVE_FACTORS))
    return scores


def beat_f_measure(reference: Iterable[float], estimate: Iterable[float]) -> float:
    """F-measure at ±70 ms over the whole file (no trimming of the first 5 s)."""
    ref = np.asarray(list(reference), dtype=np.float64)
    est = np.asarray(list(estimate), dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mir_eval warns on empty beat lists
        return float(mir_eval.beat.f_measure(ref, est, f_measure_threshold=BEAT_TOLERANCE_SECONDS))


def beat_continuity(reference: Iterable[float], estimate: Iterable[float]) -> dict[str, float]:
    """``beat_cmlt``, ``beat_amlt`` (mir_eval's continuity) and ``beat_info_gain``, whole file;
    0 when either side has fewer than two beats."""
    ref = np.asarray(list(reference), dtype=np.float64)
    est = np.asarray(list(estimate), dtype=np.float64)
    if ref.size < 2 or est.size < 2:
        return {"beat_cmlt": 0.0, "beat_amlt": 0.0, "beat_info_gain": 0.0}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, cmlt, _, amlt = mir_eval.beat.continuity(ref, est)
        gain = mir_eval.beat.information_gain(ref, est)
    return {"beat_cmlt": float(cmlt), "beat_amlt": float(amlt), "beat_info_gain": float(gain)}


def boundary_detection(
    reference_starts: Sequence[float],
    estimated_starts: Sequence[float],
    duration: float,
    window: float,
) -> tuple[float, float, float]:
    """(precision, recall, F) of section starts within ±``window`` seconds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # mir_eval warns on empty boundary lists
        p, r, f = mir_eval.segment.detection(
            _intervals(reference_starts, duration),
            _intervals(estimated_starts, duration),
            window=window,
            trim=True,
        )
    return float(p), float(r), float(f)


def _intervals(starts: Sequence[float], duration: float) -> np.ndarray:
    edges = sorted({0.0, *(t for t in starts if 0.0 < t < duration), duration})
    return np.array(list(pairwise(edges)), dtype=np.float64)


def frame_scores(reference: Annotation, estimate: TrackStructure) -> tuple[float, float]:
    """(label accuracy, energy correlation) over the annotated frames of the track."""
    fps = SCORING_FRAME_RATE
    n_frames = max(1, int(reference.audio.duration * fps))
    targets = frame_targets(reference, n_frames, fps)
    # Frames of a label outside the vocabulary have no right answer: skipped, like the silence.
    annotated = (targets.label != UNLABELED) & (targets.label != IGNORE_INDEX)
    if not annotated.any():
        return math.nan, math.nan
    estimated_labels, estimated_energy = _held_sections(estimate, n_frames, fps)
    label_accuracy = float(np.mean(estimated_labels[annotated] == targets.label[annotated]))
    if not targets.has_energy:
        return label_accuracy, math.nan
    correlations = [
        _pearson(estimated_energy[band, annotated], targets.energy[band, annotated])
        for band in range(targets.energy.shape[0])
    ]
    finite = [c for c in correlations if not math.isnan(c)]
    return label_accuracy, float(np.mean(finite)) if finite else math.nan


def _held_sections(
    estimate: TrackStructure, n_frames: int, fps: float
) -> tuple[np.ndarray, np.ndarray]:
    labels = np.full(n_frames, UNLABELED, dtype=np.int64)
    energy = np.zeros((3, n_frames), dtype=np.float64)
    for section in estimate.sections:
        first = max(0, round(section.start * fps))
        last = min(n_frames, round(section.end * fps))
        labels[first:last] = LABELS.index(section.label) if section.label in LABELS else -1
        energy[:, first:last] = np.asarray(section.energy)[:, None]
    return labels, energy


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if x.size < 2 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def bpm_correct(
    reference_bpm: float, estimated_bpm: float | None, factors: Sequence[float] = (1.0,)
) -> bool:
    """Within 4 % of the reference BPM times one of ``factors`` (Acc1: 1 only; Acc2: also the
    octave and triple errors, :data:`OCTAVE_FACTORS`)."""
    if estimated_bpm is None:
        return False
    return any(
        abs(estimated_bpm - reference_bpm * f) <= BPM_TOLERANCE * reference_bpm * f for f in factors
    )


def aggregate(per_track: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric over the tracks that have it (NaN where none has)."""
    result = {}
    for name in METRIC_NAMES:
        values = [t[name] for t in per_track if name in t and not math.isnan(t[name])]
        result[name] = float(np.mean(values)) if values else math.nan
    return result
