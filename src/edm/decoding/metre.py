"""Beats per bar (3 or 4) from the model's downbeat activation at the beats.

Folded on the true bar, the downbeat activation at the beats has one strong phase; folded on
the wrong bar length its phases average out. Each candidate is scored by that contrast (best
phase minus the mean of the others, in units of the activation's spread over beats). 3/4 is
chosen only when its contrast clearly beats 4/4's; when neither stands out (a model that
never learned downbeats for this music), the answer is 4/4, marked assumed, with its
confidence, so a reader knows the metre was not heard.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import maximum_filter1d

CANDIDATES = (4, 3)
_EPS = 1e-9


@dataclass(frozen=True)
class MetreSearch:
    min_contrast: float = 0.8  # below this for both, the metre is not heard: 4/4 assumed
    three_over_four: float = 1.5  # 3/4 needs this many times 4/4's contrast


@dataclass(frozen=True)
class Metre:
    beats_per_bar: int
    confidence: float  # 0..1: the chosen candidate's share of the evidence
    assumed: bool  # True: the evidence did not tell, 4/4 was assumed

    def to_dict(self) -> dict[str, Any]:
        return {
            "time_signature": f"{self.beats_per_bar}/4",
            "confidence": round(self.confidence, 3),
            "assumed": self.assumed,
        }


def metre_contrast(downbeat: np.ndarray, beat_frames: np.ndarray, beats_per_bar: int) -> float:
    """How clearly one phase of ``beats_per_bar`` stands out in the downbeat activation."""
    if beat_frames.size < 2 * beats_per_bar:
        return 0.0
    tolerant = maximum_filter1d(np.asarray(downbeat, dtype=np.float64), 3)
    values = np.interp(beat_frames, np.arange(tolerant.size), tolerant)
    usable = values.size - values.size % beats_per_bar
    means = values[:usable].reshape(-1, beats_per_bar).mean(axis=0)
    best = int(np.argmax(means))
    others = np.delete(means, best)
    return float((means[best] - others.mean()) / (np.std(values) + _EPS))


def choose_metre(
    downbeat: np.ndarray, beat_frames: np.ndarray, search: MetreSearch | None = None
) -> Metre:
    """3 or 4 beats per bar, by the downbeat activation (see the module docstring)."""
    search = search or MetreSearch()
    four, three = (metre_contrast(downbeat, beat_frames, n) for n in CANDIDATES)
    total = max(four, 0.0) + max(three, 0.0) + _EPS
    if max(four, three) < search.min_contrast:
        return Metre(4, float(np.clip(max(four, 0.0) / total, 0.0, 1.0)), assumed=True)
    if three > search.three_over_four * max(four, 0.0):
        return Metre(3, float(np.clip(three / total, 0.0, 1.0)), assumed=False)
    return Metre(4, float(np.clip(max(four, 0.0) / total, 0.0, 1.0)), assumed=False)
