"""Beat grid from a beat activation: EDM keeps one tempo, so fit one constant grid to the track.

1. **Search**: for every candidate period between ``max_bpm`` and ``min_bpm`` (fine steps),
   fold the activation onto one period (a histogram of the activation by phase) and score the
   best phase by *contrast*: the activation on the grid minus the strongest activation half
   (weighted down: off-beats are common), a third or a quarter of a period away. An impulse
   train scores as well at half its period (a double-tempo grid still hits every beat) and,
   by plain averages, at twice its period (a half-tempo grid hits only beats); the contrast
   rules both out, because at twice the period the half-way points are beats too, and at half
   the period only every other grid point is. The best coarse candidates are refined before
   they are compared.
2. **Fit**: the activation peak nearest to each grid point is found, and a straight line
   through (beat index, peak time) gives period and phase to a fraction of a frame; a 200-beat
   track then drifts by well under the ±70 ms that beat metrics allow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d

from edm.vocabulary import DEFAULT_MAX_BPM, DEFAULT_MIN_BPM

# Offsets (in periods) where a true beat grid has no beats: half, thirds and quarters of a beat.
_OFF_GRID = (1 / 2, 1 / 3, 2 / 3, 1 / 4, 3 / 4)
# Fifths of a beat: no dance music puts events there, but a grid 2.5 beats long (60 BPM on a
# 150 BPM track with off-beat hats) finds its half, thirds and quarters empty and wins unless
# its fifths count too. Only for slow grids, with periods of at least this many phase bins
# (40 frames: 75 BPM at 50 fps), where a fifth lies 2 frames or more from a quarter (16th
# hats) and the ±1 frame tolerance cannot mix the two.
_FIFTHS = (1 / 5, 2 / 5, 3 / 5, 4 / 5)
_FIFTHS_MIN_BINS = 80
_PHASE_BIN_FRAMES = 0.5
_REFINED_CANDIDATES = 6  # coarse peaks refined: the tempo octaves and their neighbours
_REFINE_STEPS = 21
_NEGLIGIBLE = 1e-3  # fine periods across one coarse step either side
_NEAR_EDGE = 1e-6  # bins: far above the floor division's rounding error (about 1e-13)


@dataclass(frozen=True)
class TempoSearch:
    """How the tempo is searched; the defaults span every tempo a DJ plays (60-210 BPM: dub and
    hip hop to hardcore), half or double tempo settled by evidence, never by the range."""

    min_bpm: float = DEFAULT_MIN_BPM
    max_bpm: float = DEFAULT_MAX_BPM
    period_step_frames: float = 0.02  # search resolution at the shortest period (max_bpm)
    min_activation: float = 0.15  # below this peak value nothing is called a beat
    fit_radius_frames: float = 3.0  # how far from the searched grid a peak may lie
    # Evidence half a period away counts this much against a grid. Music has events between
    # the beats (off-beat hats), and a model's beat activation often fires on them too: at full
    # weight such off-beats make a half-tempo grid (which treats them as unexplained but hits
    # every other beat) win. Measured on drum loops at 120-174 BPM with small models, 0.6
    # halved none of the tempos that 1.0 halved, and changed nothing for well-trained ones.
    half_beat_weight: float = 0.6

    def __post_init__(self) -> None:
        if not 0 < self.min_bpm < self.max_bpm:
            raise ValueError(f"BPM range {self.min_bpm}..{self.max_bpm} is empty")


@dataclass(frozen=True)
class BeatGrid:
    """Beats at ``phase + k * period`` (in frames); ``score`` is the search's contrast."""

    period: float  # frames
    phase: float  # frames, in [0, period)
    frame_rate: float
    score: float

    @property
    def bpm(self) -> float:
        return 60.0 * self.frame_rate / self.period

    def frames(self, n_frames: int) -> np.ndarray:
        """Fractional frame positions of every beat in ``[0, n_frames)``."""
        count = int(np.floor((n_frames - 1e-9 - self.phase) / self.period)) + 1
        return self.phase + self.period * np.arange(max(count, 0))

    def times(self, n_frames: int) -> np.ndarray:
        return self.frames(n_frames) / self.frame_rate


def estimate_beat_grid(
    activation: np.ndarray, frame_rate: float, search: TempoSearch | None = None
) -> BeatGrid | None:
    """The constant-tempo grid that best explains ``activation``; None if there are no beats."""
    search = search or TempoSearch()
    activation = np.clip(np.asarray(activation, dtype=np.float64), 0.0, 1.0)
    if activation.size < 2 or activation.max() < search.min_activation:
        return None
    period, phase, score = _search(activation, frame_rate, search)
    period, phase = _fit_to_peaks(activation, period, phase, search.fit_radius_frames)
    return BeatGrid(period=period, phase=phase % period, frame_rate=frame_rate, score=score)


def tempo_contrasts(
    activation: np.ndarray,
    frame_rate: float,
    bpms: list[float],
    search: TempoSearch | None = None,
) -> list[float]:
    """The search's contrast of the best grid at each tempo (refined within ±0.5 %), comparable
    between tempos, whether or not inside the search's BPM range (decoding/confidence.py
    compares a pick with its octave rivals this way)."""
    search = search or TempoSearch()
    activation = np.clip(np.asarray(activation, dtype=np.float64), 0.0, 1.0)
    tolerant = maximum_filter1d(activation, size=3, mode="constant")
    carrying = np.flatnonzero(tolerant > _NEGLIGIBLE)
    if activation.size < 2 or carrying.size == 0:
        return [0.0 for _ in bpms]
    frames, weights = carrying.astype(np.float64), tolerant[carrying]
    spread = np.linspace(0.995, 1.005, 5)
    periods = np.concatenate([60.0 * frame_rate / bpm * spread for bpm in bpms])
    contrasts, _ = _best_phases(weights, frames, periods, 1.0 / activation.size, search)
    return [float(row.max()) for row in contrasts.reshape(len(bpms), spread.size)]


def _search(
    activation: np.ndarray, frame_rate: float, search: TempoSearch
) -> tuple[float, float, float]:
    """(period, phase, contrast) of the best grid: a coarse scan, then its best few refined.

    A slightly wrong period drifts by its error once per beat, so at the coarse step a short
    period (many beats) loses more than a long one: comparing tempo octaves is fair only once
    each candidate's period is refined.
    """
    # A ±1 frame tolerance: the model's peaks may sit a frame either side of the grid.
    tolerant = maximum_filter1d(activation, size=3, mode="constant")
    # Beat activations are sparse: folding only the frames that carry some activation gives
    # the same histogram several times faster.
    carrying = np.flatnonzero(tolerant > _NEGLIGIBLE)
    frames = carrying.astype(np.float64)
    weights = tolerant[carrying]
    cycles_per_frame = 1.0 / activation.size
    shortest = 60.0 * frame_rate / search.max_bpm
    longest = 60.0 * frame_rate / search.min_bpm
    # Evenly spaced in log-period: the same relative tempo resolution at every tempo.
    ratio = 1.0 + search.period_step_frames / shortest
    periods = shortest * ratio ** np.arange(int(np.log(longest / shortest) / np.log(ratio)) + 1)
    scores, _ = _best_phases(weights, frames, periods, cycles_per_frame, search)
    is_peak = np.r_[True, scores[1:] >= scores[:-1]] & np.r_[scores[:-1] >= scores[1:], True]
    candidates = np.flatnonzero(is_peak)
    candidates = candidates[np.argsort(scores[candidates])[::-1][:_REFINED_CANDIDATES]]
    if candidates.size == 0:
        return (0.0, 0.0, -np.inf)
    steps = ratio ** np.linspace(-1.0, 1.0, _REFINE_STEPS)
    refined = (periods[candidates][:, None] * steps[None, :]).ravel()
    contrasts, phases = _best_phases(weights, frames, refined, cycles_per_frame, search)
    best = int(np.argmax(contrasts))  # the first of equals, as a sequential scan would keep
    return float(refined[best]), float(phases[best]), float(contrasts[best])


def _best_phases(
    weights: np.ndarray,
    frames: np.ndarray,
    periods: np.ndarray,
    cycles_per_frame: float,
    search: TempoSearch,
) -> tuple[np.ndarray, np.ndarray]:
    """(contrast, phase in frames) of the best grid for each of ``periods``; ``weights`` is
    the activation at ``frames``, ``cycles_per_frame`` one over the track's length in frames.

    Periods with the same number of phase bins are folded together, in one ``bincount``: the
    search asks for about a thousand periods per track, and one call per period spent more
    time in Python than in arithmetic. Each period's figures are the ones a call of its own
    gives (``tests/decoding/test_tempo.py``).
    """
    periods = np.asarray(periods, dtype=np.float64)
    contrasts = np.empty(periods.size)
    phases = np.empty(periods.size)
    n_bins_of = np.maximum(4, np.round(periods / _PHASE_BIN_FRAMES)).astype(np.int64)
    width = max(1, round(1.0 / _PHASE_BIN_FRAMES))
    groups = [np.flatnonzero(n_bins_of == n_bins) for n_bins in np.unique(n_bins_of)]
    tiled_weights = np.tile(weights, max((group.size for group in groups), default=0))
    for chosen in groups:
        n_bins = int(n_bins_of[chosen[0]])
        offsets = _OFF_GRID + (_FIFTHS if n_bins >= _FIFTHS_MIN_BINS else ())
        off_weights = np.array([_weight(offset, search) for offset in offsets])
        contrasts[chosen], best_bin = _fold(
            tiled_weights, frames, periods[chosen], cycles_per_frame, n_bins, width, offsets,
            off_weights,
        )  # fmt: skip
        phases[chosen] = (best_bin + 0.5) * periods[chosen] / n_bins
    return contrasts, phases


def _fold(
    tiled_weights: np.ndarray,
    frames: np.ndarray,
    periods: np.ndarray,
    cycles_per_frame: float,
    n_bins: int,
    width: int,
    offsets: tuple[float, ...],
    off_weights: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Per period (all with ``n_bins`` phase bins): the best bin's contrast, and that bin.
    ``tiled_weights`` is the activation at ``frames``, repeated at least once per period."""
    count = periods.size
    # The phase from a product with the inverse period, not ``%``: numpy's float remainder
    # costs 10 ns a value, and here it was three quarters of the whole decoding. The two
    # differ by rounding errors, which put a value in another bin only when it lies on a bin
    # edge (often, for periods with a small denominator): those values are computed again
    # with ``%``, so that every bin is the one ``%`` gives.
    position = frames[None, :] * (1.0 / periods)[:, None]
    position -= np.floor(position)
    position *= n_bins
    below = np.floor(position)
    position -= below
    position -= 0.5
    edges = np.flatnonzero(np.abs(position) > 0.5 - _NEAR_EDGE)
    bins = below.astype(np.int64)
    rows, columns = np.divmod(edges, frames.size)
    exact = (frames[columns] % periods[rows]) / periods[rows] * n_bins
    bins.flat[edges] = exact.astype(np.int64) % n_bins  # a whole period is phase 0
    bins += n_bins * np.arange(count)[:, None]
    folded = (
        np.bincount(
            bins.ravel(), weights=tiled_weights[: bins.size], minlength=count * n_bins
        ).reshape(count, n_bins)
        * (periods * cycles_per_frame)[:, None]
    )
    # Per bin, the mean activation per cycle, over a window one frame wide either side: the
    # window's bins added one shifted copy at a time, in the order numpy's mean adds them.
    wrapped = np.concatenate([folded[:, n_bins - width :], folded, folded[:, :width]], axis=1)
    on_grid = wrapped[:, :n_bins].copy()
    for step in range(1, 2 * width + 1):
        on_grid += wrapped[:, step : step + n_bins]
    on_grid /= 2 * width + 1
    twice = np.concatenate([on_grid, on_grid], axis=1)  # a shift of s bins: twice[:, s:s+n]
    off_grid = np.full_like(on_grid, -np.inf)
    for offset, weight in zip(offsets, off_weights, strict=True):
        shift = round(offset * n_bins) % n_bins
        np.maximum(off_grid, twice[:, shift : shift + n_bins] * weight, out=off_grid)
    contrast = on_grid - off_grid
    best_bin = np.argmax(contrast, axis=1)
    return contrast[np.arange(count), best_bin], best_bin


def _weight(offset: float, search: TempoSearch) -> float:
    return search.half_beat_weight if offset == 0.5 else 1.0


def _fit_to_peaks(
    activation: np.ndarray, period: float, phase: float, radius: float
) -> tuple[float, float]:
    """Least-squares line through the peaks nearest to the grid; the grid itself if too few."""
    grid = BeatGrid(period, phase % period, 1.0, 0.0).frames(activation.size)
    radius = min(radius, period / 4)
    indices, positions, weights = [], [], []
    for k, centre in enumerate(grid):
        lo, hi = int(np.ceil(centre - radius)), int(np.floor(centre + radius)) + 1
        lo, hi = max(lo, 0), min(hi, activation.size)
        if hi - lo < 1:
            continue
        window = activation[lo:hi]
        peak = lo + int(np.argmax(window))
        height = activation[peak]
        if height <= 0:
            continue
        indices.append(k)
        positions.append(peak + _parabolic_offset(activation, peak))
        weights.append(height)
    if len(indices) < 3:
        return period, phase
    k = np.asarray(indices, dtype=np.float64)
    t = np.asarray(positions)
    w = np.asarray(weights)
    # Only clear peaks steer the line: weak ones are often noise between beats.
    strong = w >= 0.5 * np.median(w[w >= np.percentile(w, 50)])
    if strong.sum() >= 3:
        k, t, w = k[strong], t[strong], w[strong]
    for _ in range(2):  # one outlier-rejecting pass
        slope, intercept = np.polyfit(k, t, 1, w=w)
        residual = np.abs(t - (intercept + slope * k))
        keep = residual <= max(1.0, 2.5 * np.median(residual))
        if keep.all() or keep.sum() < 3:
            break
        k, t, w = k[keep], t[keep], w[keep]
    # The fit must stay near the searched period: never an octave away.
    if not 0.9 * period < slope < 1.1 * period:
        return period, phase
    return float(slope), float(intercept)


def _parabolic_offset(values: np.ndarray, peak: int) -> float:
    """Sub-frame offset of a peak from a parabola through it and its neighbours."""
    if peak <= 0 or peak >= values.size - 1:
        return 0.0
    left, centre, right = values[peak - 1], values[peak], values[peak + 1]
    denominator = left - 2 * centre + right
    if denominator >= 0:
        return 0.0
    return float(np.clip(0.5 * (left - right) / denominator, -0.5, 0.5))
