"""How sure the model is about one track, as numbers in [0, 1] (1: sure).

- **beats**: the mean beat activation at the decoded beats (each read as the largest value
  within ±1 frame: a peak a frame off the grid still counts), over the beats from the music's
  start on: a silent lead-in has no beats to be sure of.
- **tempo**: how far the chosen tempo's grid beats its usual rivals, the tempo octaves and the
  triplet relations (x2, x1/2, x1.5, x2/3), by the tempo search's own score, the contrast
  (:func:`edm.decoding.tempo.tempo_contrasts`), times how clear the pulse is at all. Even on
  a perfect beat activation a rival keeps about half the pick's score (a double-tempo grid
  hits every beat with half its points), so the margin is ``2 * (1 - best rival / pick)``,
  clipped to [0, 1]: 1 when every rival scores half the pick or less, 0 when one scores as
  well. The clarity is ``pick / 0.4`` at most 1: a clean pulse of beat peaks scores about 0.5
  (0.42 with 20 % noise between the beats), a flat activation about 0.1, however its rivals
  do.
- **sections**: the mean of the sections' confidences (the mean probability of each section's
  label over its frames).
- **overall**: the geometric mean of the three, so that one weak part pulls the whole down
  (a confident labelling on a wrong beat grid is not a confident answer).

No beat found: beats and tempo are 0, and so is the overall confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import maximum_filter1d

from edm.decoding.activations import FrameActivations
from edm.decoding.tempo import TempoSearch, tempo_contrasts

RIVAL_RATIOS = (2.0, 0.5, 1.5, 2.0 / 3.0)
# The best a rival scores against a clear pulse, as a share of the pick's score (see above).
CLEAR_RIVAL_SHARE = 0.5
CLEAR_CONTRAST = 0.4  # the pick's contrast from which the pulse counts as clear


@dataclass(frozen=True)
class Confidence:
    overall: float
    beats: float
    tempo: float
    sections: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "overall": round(self.overall, 3),
            "beats": round(self.beats, 3),
            "tempo": round(self.tempo, 3),
            "sections": round(self.sections, 3),
        }


def track_confidence(
    activations: FrameActivations,
    beats: Sequence[float],
    bpm: float | None,
    section_confidences: Sequence[float],
    *,
    music_start: float = 0.0,
    search: TempoSearch | None = None,
) -> Confidence:
    """The confidence of a decoded track: ``beats`` in seconds, ``music_start`` where its first
    section starts (seconds)."""
    fps = activations.frame_rate
    frames = np.asarray(beats, dtype=np.float64) * fps
    in_music = frames[frames >= music_start * fps - 1.0]
    beat = beat_confidence(activations.beat, in_music if in_music.size else frames)
    tempo = tempo_confidence(activations.beat, fps, bpm, search) if bpm else 0.0
    sections = float(np.mean(section_confidences)) if len(section_confidences) else 0.0
    sections = _unit(sections)
    return Confidence(
        overall=geometric_mean((beat, tempo, sections)), beats=beat, tempo=tempo, sections=sections
    )


def beat_confidence(beat_activation: np.ndarray, beat_frames: np.ndarray) -> float:
    """Mean of the beat activation's ±1-frame maximum at each (fractional) beat frame."""
    if beat_frames.size == 0 or beat_activation.size == 0:
        return 0.0
    tolerant = maximum_filter1d(np.asarray(beat_activation, dtype=np.float64), 3)
    index = np.clip(np.rint(beat_frames).astype(np.int64), 0, tolerant.size - 1)
    return _unit(float(tolerant[index].mean()))


def tempo_confidence(
    beat_activation: np.ndarray, frame_rate: float, bpm: float, search: TempoSearch | None = None
) -> float:
    """The margin over the rivals times the pulse's clarity, in [0, 1] (see the module text)."""
    pick, *rivals = tempo_contrasts(
        beat_activation, frame_rate, [bpm, *(bpm * ratio for ratio in RIVAL_RATIOS)], search
    )
    if pick <= 0:
        return 0.0
    share = max(max(rivals), 0.0) / pick
    margin = _unit((1.0 - share) / (1.0 - CLEAR_RIVAL_SHARE))
    return margin * _unit(pick / CLEAR_CONTRAST)


def geometric_mean(values: Sequence[float]) -> float:
    if not values or min(values) <= 0:
        return 0.0
    return _unit(float(np.exp(np.mean(np.log(values)))))


def _unit(value: float) -> float:
    return min(max(float(value), 0.0), 1.0) if value == value else 0.0
