"""Section starts on the bar grid, as many as the evidence supports.

Every downbeat after the music's start is a candidate. Each gets a gain: the model's boundary
activation there, how much the track's descriptors (energy bands, label probabilities, input
features) change across it, and a bonus when it lies on the phrase grid (every 4 bars from
the origin that best fits the evidence). Dynamic programming then picks the set of candidates
with the highest total gain minus a penalty per section, two bars apart at least
(shorter sections pay more: ``length_costs``): the number of sections is
whatever the evidence supports, not a fixed count, and a weak boundary activation can be
outvoted by a clear change at a phrase start (music made with sounds the model never heard).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d

from edm.decoding.bars import change_curve, segment_means

PHRASE_BARS = 4


@dataclass(frozen=True)
class SectionParams:
    boundary_weight: float = 1.0  # the model's boundary activation (0..1) at the bar line
    change_weight: float = 1.1  # descriptor change across the bar line (0..1 after scaling)
    phrase_weight: float = 0.2  # bonus for a bar line on the 4-bar phrase grid
    penalty: float = 0.45  # cost of each section: a boundary must earn more than this
    # Extra cost of a section by its length in bars: the largest entry not over the length
    # applies; shorter than the smallest entry is no section. EDM sections run 8, 16 or 32
    # bars, 4 often enough, 2 only where the evidence is strong.
    length_costs: tuple[tuple[int, float], ...] = ((8, 0.0), (4, 0.2), (2, 0.6))
    min_tail_bars: float = 2.0  # a section starting this close to the end is not one
    boundary_radius_beats: float = 0.5  # how far from the bar line a boundary peak still counts


def segment_bars(
    boundary: np.ndarray,
    descriptors: list[np.ndarray],
    start: int,
    downbeat_frames: np.ndarray,
    beat_period: float,
    beats_per_bar: int,
    params: SectionParams | None = None,
) -> list[int]:
    """Section start frames: ``start`` first, then chosen bar lines; strictly increasing."""
    params = params or SectionParams()
    n = boundary.size
    bar = beats_per_bar * beat_period
    candidates = downbeat_frames[
        (downbeat_frames > start + bar / 2) & (downbeat_frames < n - params.min_tail_bars * bar)
    ]
    if candidates.size == 0:
        return [start]
    edges = np.concatenate([[start], candidates, [n]])
    units = [segment_means(group, edges) for group in descriptors]
    change = change_curve(units, widths=(1, 2, 4))[1 : 1 + candidates.size]
    change = _unit_scale(change)
    radius = max(1, round(params.boundary_radius_beats * beat_period))
    tolerant = maximum_filter1d(np.asarray(boundary, dtype=np.float64), 2 * radius + 1)
    activation = np.interp(candidates, np.arange(n), tolerant)
    evidence = params.boundary_weight * activation + params.change_weight * change
    # Bar index of each candidate counted from the start, and the phrase origin (mod 4)
    # that collects the most evidence: phrase lines get the bonus.
    index = np.round((candidates - start) / bar).astype(np.int64)
    per_origin = [evidence[index % PHRASE_BARS == o].sum() for o in range(PHRASE_BARS)]
    origin = int(np.argmax(per_origin))
    on_phrase = (index - origin) % PHRASE_BARS == 0
    gain = evidence + params.phrase_weight * on_phrase - params.penalty
    chosen = _best_starts(index, gain, _total_bars(start, n, bar), params)
    return [start, *(round(float(candidates[i])) for i in chosen)]


def _best_starts(
    index: np.ndarray, gain: np.ndarray, total_bars: float, params: SectionParams
) -> list[int]:
    """The candidates (positions in ``index``) that maximise the summed gain less the cost of
    each section's length."""
    count = index.size
    # Position 0 of the DP is the music's start (bar 0, gain 0); candidates follow.
    bars = np.concatenate([[0], index])
    best = np.full(count + 1, -np.inf)
    best[0] = 0.0
    previous = np.full(count + 1, -1)
    for j in range(1, count + 1):
        value = best[:j] - _length_cost(bars[j] - bars[:j], params.length_costs)
        k = int(np.argmax(value))
        if np.isfinite(value[k]):
            best[j] = value[k] + gain[j - 1]
            previous[j] = k
    tail = total_bars - bars
    finals = np.where(tail >= params.min_tail_bars, best, -np.inf)
    j = int(np.argmax(finals))
    chosen = []
    while j > 0:
        chosen.append(j - 1)
        j = int(previous[j])
    return chosen[::-1]


def _length_cost(lengths: np.ndarray, costs: tuple[tuple[int, float], ...]) -> np.ndarray:
    result = np.full(lengths.shape, np.inf)
    for bars, cost in sorted(costs):
        result[lengths >= bars] = cost
    return result


def _total_bars(start: int, n: int, bar: float) -> float:
    return (n - start) / bar


def _unit_scale(change: np.ndarray) -> np.ndarray:
    """Change to 0..1: the median bar line is 0, the clearest change in the track is 1."""
    if change.size == 0:
        return change
    low, high = np.median(change), change.max()
    if high - low < 1e-9:
        return np.zeros_like(change)
    return np.clip((change - low) / (high - low), 0.0, 1.0)
