"""Beat activation → the beats of a track, where there is music, following tempo changes.

:mod:`edm.decoding.tempo` fits one constant grid to a whole activation. A track is more than
that: a DJ mix moves from 124 to 128 BPM, a track may start and end in silence, and a beat
grid at half or double the tempo explains an impulse train almost as well as the true one.
:func:`decode_beat_track` builds on the constant grid in three steps:

1. **Octave by the model's evidence** (:func:`resolve_octave`): the grid's tempo, half and
   double it (inside the search range) are compared by the beat contrast *and* by how well the
   downbeat activation repeats every bar of each (a model trained on bars of 3 or 4 beats puts
   its downbeats one bar apart): no fixed tempo window decides.
2. **Tempo segments** (:func:`tempo_segments`): the tempo is measured in overlapping windows;
   when every window agrees with the grid (within ``change_tolerance``), the one grid stands
   (a constant-tempo track decodes as before). Otherwise runs of windows that agree make
   segments, each gets its own grid, and neighbours hand over at the beat that the activation
   supports best. The tempo curve lists each segment's start and tempo.
3. **Beats only where there is music** (:func:`music_mask`): beats with no activation near them
   at the start and the end, and runs of at least ``max_gap_beats`` inside, are dropped when
   the audio is silent there too (when the input features are given; without them the
   activation alone decides). A breakdown without drums but with sound keeps its beats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d

from edm.decoding.tempo import BeatGrid, TempoSearch, estimate_beat_grid, tempo_contrasts


@dataclass(frozen=True)
class BeatTracking:
    """How tempo changes and silence are followed (see the module docstring)."""

    window_seconds: float = 20.0  # tempo measured in windows this long, half overlapping
    change_tolerance: float = 0.012  # windows within 1.2 % of the grid: one constant tempo
    local_range: float = 0.08  # a window's tempo is searched within ±8 % of the grid's
    min_window_peaks: int = 8  # a window with fewer clear peaks measures no tempo
    max_gap_beats: int = 8  # unsupported beats in a row inside a track: a break with no music
    support_fraction: float = 0.2  # of the 90th percentile of beat support: a beat is there
    silence_fraction: float = 0.1  # of the level range above the floor: the audio is silent
    # Octave: the half or double tempo replaces the grid's when its bars' downbeat contrast is
    # this many times the grid's and its beat contrast at least ``octave_beat_share`` of it.
    octave_downbeat_ratio: float = 1.5
    octave_beat_share: float = 0.5
    # ... and its bars' downbeat contrast at least this (activation units): downbeats that
    # carry no bar (a small model's, firing on every beat) must not move the tempo by chance.
    octave_min_downbeat: float = 0.1


@dataclass(frozen=True)
class BeatTrack:
    """The decoded beats (fractional frames) and the tempo they follow."""

    beat_frames: np.ndarray
    frame_rate: float
    period: float  # frames: the main tempo's beat period
    curve: tuple[tuple[float, float], ...]  # (start in seconds, BPM) of each tempo segment
    score: float  # the constant grid's contrast (tempo.py)

    @property
    def bpm(self) -> float:
        return 60.0 * self.frame_rate / self.period

    def frames(self, n_frames: int) -> np.ndarray:
        """The beats in ``[0, n_frames)``, as :meth:`BeatGrid.frames` gives them."""
        return self.beat_frames[self.beat_frames < n_frames]


def decode_beat_track(
    beat: np.ndarray,
    frame_rate: float,
    search: TempoSearch | None = None,
    *,
    downbeat: np.ndarray | None = None,
    levels: np.ndarray | None = None,
    tracking: BeatTracking | None = None,
) -> BeatTrack | None:
    """The beats of a track from its beat activation; None when there are none.

    ``downbeat`` (the model's downbeat activation) settles tempo octaves; ``levels`` (loudness
    per frame, e.g. the mean log-mel level) tells silence from a break with sound.
    """
    search = search or TempoSearch()
    tracking = tracking or BeatTracking()
    beat = np.clip(np.asarray(beat, dtype=np.float64), 0.0, 1.0)
    grid = estimate_beat_grid(beat, frame_rate, search)
    if grid is None:
        return None
    if downbeat is not None:
        grid = resolve_octave(grid, beat, downbeat, search, tracking)
    segments = tempo_segments(beat, grid, search, tracking)
    frames = _stitch(beat, segments, tracking.window_seconds * frame_rate / 2)
    keep = music_mask(beat, frames, grid.period, levels, tracking)
    frames = frames[keep]
    if frames.size == 0:
        return None
    lengths = [end - start for start, end, _ in segments]
    main = segments[int(np.argmax(lengths))][2]
    curve = tuple(
        (round(max(start, float(frames[0])) / frame_rate, 3), round(g.bpm, 3))
        for start, _, g in segments
    )
    return BeatTrack(frames, frame_rate, main.period, curve, grid.score)


def resolve_octave(
    grid: BeatGrid,
    beat: np.ndarray,
    downbeat: np.ndarray,
    search: TempoSearch,
    tracking: BeatTracking,
) -> BeatGrid:
    """The grid at the tempo octave the model's downbeats support (see the module docstring)."""
    downbeat = np.clip(np.asarray(downbeat, dtype=np.float64), 0.0, 1.0)
    if downbeat.max() < search.min_activation:
        return grid
    fps = grid.frame_rate
    rivals = [r for r in (grid.bpm / 2, grid.bpm * 2) if search.min_bpm <= r <= search.max_bpm]
    if not rivals:
        return grid
    tempos = [grid.bpm, *rivals]
    beat_contrast = tempo_contrasts(beat, fps, tempos, search)
    bars = [bpm / n for bpm in tempos for n in (3, 4)]
    bar_contrast = np.asarray(tempo_contrasts(downbeat, fps, bars, search)).reshape(-1, 2)
    downbeat_score = bar_contrast.max(axis=1)
    best = 0
    for i in range(1, len(tempos)):
        if (
            downbeat_score[i] > tracking.octave_downbeat_ratio * max(downbeat_score[best], 1e-6)
            and downbeat_score[i] >= tracking.octave_min_downbeat
            and beat_contrast[i] >= tracking.octave_beat_share * beat_contrast[0]
        ):
            best = i
    if best == 0:
        return grid
    narrow = TempoSearch(
        min_bpm=tempos[best] * 0.98,
        max_bpm=tempos[best] * 1.02,
        min_activation=search.min_activation,
        fit_radius_frames=search.fit_radius_frames,
        half_beat_weight=search.half_beat_weight,
    )
    return estimate_beat_grid(beat, fps, narrow) or grid


def tempo_segments(
    beat: np.ndarray, grid: BeatGrid, search: TempoSearch, tracking: BeatTracking
) -> list[tuple[int, int, BeatGrid]]:
    """``(start, end, grid)`` frame spans of constant tempo, in order, covering the track;
    the one grid when every window agrees with it."""
    n = beat.size
    whole = [(0, n, grid)]
    window = round(tracking.window_seconds * grid.frame_rate)
    if n < 2 * window:
        return whole
    hop = window // 2
    starts = list(range(0, n - window + 1, hop))
    local = [_local_bpm(beat[s : s + window], grid, search, tracking) for s in starts]
    measured = [bpm for bpm in local if bpm is not None]
    if not measured or all(
        abs(bpm / grid.bpm - 1) <= tracking.change_tolerance for bpm in measured
    ):
        return whole
    groups = _group_windows(local, tracking.change_tolerance)
    if len(groups) < 2:
        return whole
    segments = []
    for index, (first, last, bpm) in enumerate(groups):
        lo = 0 if index == 0 else starts[first]
        hi = n if index == len(groups) - 1 else starts[last] + window
        local_grid = _fit_span(beat, lo, hi, grid, bpm, search)
        if local_grid is None:
            return whole
        segments.append((lo, hi, local_grid))
    stitched = _stitch(beat, segments, hop)
    if _support(beat, stitched) <= _support(beat, grid.frames(n)) * 1.02:
        return whole
    return segments


def music_mask(
    beat: np.ndarray,
    frames: np.ndarray,
    period: float,
    levels: np.ndarray | None,
    tracking: BeatTracking,
) -> np.ndarray:
    """True for the beats where there is music: see the module docstring, step 3."""
    if frames.size == 0:
        return np.zeros(0, dtype=bool)
    support = _beat_support(beat, frames)
    threshold = max(tracking.support_fraction * np.percentile(support, 90), 1e-3)
    empty = support < threshold
    if levels is not None:
        empty &= _silent_at(np.asarray(levels, dtype=np.float64), frames, period, tracking)
    keep = np.ones(frames.size, dtype=bool)
    run_start = None
    for i, is_empty in enumerate([*empty.tolist(), False]):
        if is_empty and run_start is None:
            run_start = i
        elif not is_empty and run_start is not None:
            at_edge = run_start == 0 or i == frames.size
            if at_edge or i - run_start >= tracking.max_gap_beats:
                keep[run_start:i] = False
            run_start = None
    return keep


def _silent_at(
    levels: np.ndarray, frames: np.ndarray, period: float, tracking: BeatTracking
) -> np.ndarray:
    floor = float(np.percentile(levels, 1))
    loud = float(np.percentile(levels, 95))
    threshold = floor + tracking.silence_fraction * max(loud - floor, 1e-9)
    width = max(1, round(period))
    smoothed = maximum_filter1d(levels, size=width, mode="nearest")
    at = np.clip(np.round(frames).astype(np.int64), 0, levels.size - 1)
    return smoothed[at] <= threshold


def _local_bpm(
    chunk: np.ndarray, grid: BeatGrid, search: TempoSearch, tracking: BeatTracking
) -> float | None:
    peaks = np.flatnonzero(
        (chunk[1:-1] >= 0.5) & (chunk[1:-1] >= chunk[:-2]) & (chunk[1:-1] > chunk[2:])
    )
    if peaks.size < tracking.min_window_peaks:
        return None
    narrow = TempoSearch(
        min_bpm=grid.bpm / (1 + tracking.local_range),
        max_bpm=grid.bpm * (1 + tracking.local_range),
        min_activation=search.min_activation,
        fit_radius_frames=search.fit_radius_frames,
        half_beat_weight=search.half_beat_weight,
    )
    local = estimate_beat_grid(chunk, grid.frame_rate, narrow)
    return None if local is None else local.bpm


def _group_windows(local: list[float | None], tolerance: float) -> list[tuple[int, int, float]]:
    """Runs of windows whose tempos agree: ``(first, last, median BPM)``; a run of one window
    (a stray measurement) joins its neighbour; unmeasured windows join the run before."""
    runs: list[list[int]] = []
    values: list[list[float]] = []
    for i, bpm in enumerate(local):
        if bpm is None:
            if runs:
                runs[-1].append(i)
            continue
        if values and abs(bpm / float(np.median(values[-1])) - 1) <= tolerance:
            runs[-1].append(i)
            values[-1].append(bpm)
        else:
            if not runs:
                runs.append(list(range(i + 1)))
            else:
                runs.append([i])
            values.append([bpm])
    merged: list[tuple[list[int], list[float]]] = []
    for run, vals in zip(runs, values, strict=True):
        if len(vals) < 2 and merged:
            merged[-1][0].extend(run)
        else:
            merged.append((run, vals))
    return [(run[0], run[-1], float(np.median(vals))) for run, vals in merged]


def _fit_span(
    beat: np.ndarray, lo: int, hi: int, grid: BeatGrid, bpm: float, search: TempoSearch
) -> BeatGrid | None:
    """The grid of frames ``lo..hi`` near ``bpm``, in the whole track's frames."""
    narrow = TempoSearch(
        min_bpm=bpm * 0.99,
        max_bpm=bpm * 1.01,
        min_activation=search.min_activation,
        fit_radius_frames=search.fit_radius_frames,
        half_beat_weight=search.half_beat_weight,
    )
    local = estimate_beat_grid(beat[lo:hi], grid.frame_rate, narrow)
    if local is None:
        return None
    phase = (local.phase + lo) % local.period
    return BeatGrid(local.period, phase, local.frame_rate, local.score)


def _stitch(
    beat: np.ndarray, segments: list[tuple[int, int, BeatGrid]], margin: float
) -> np.ndarray:
    """Every segment's beats, handing over between neighbours where the activation supports the
    old grid before and the new one after best (within ``margin`` frames of their overlap)."""
    n = beat.size
    if len(segments) == 1:
        return segments[0][2].frames(n)
    out: list[np.ndarray] = []
    handover = 0.0
    for index, (_, hi, grid) in enumerate(segments):
        frames = grid.frames(n)
        frames = frames[frames >= handover]
        if out and out[-1].size and frames.size:
            frames = frames[frames >= out[-1][-1] + 0.5 * grid.period]
        if index + 1 < len(segments):
            next_lo, _, next_grid = segments[index + 1]
            cut = _handover(beat, frames, next_grid.frames(n), next_lo - margin, hi + margin)
            frames = frames[frames < cut]
            handover = cut
        out.append(frames)
    return np.concatenate(out)


def _handover(beat: np.ndarray, old: np.ndarray, new: np.ndarray, lo: float, hi: float) -> float:
    """The frame from which the new grid's beats replace the old grid's, within ``[lo, hi]``."""
    old_support = _beat_support(beat, old)
    new_support = _beat_support(beat, new)
    candidates = np.concatenate([[lo], old[(old > lo) & (old < hi)], [hi]])
    scores = [
        old_support[(old >= lo) & (old < cut)].sum() + new_support[(new >= cut) & (new < hi)].sum()
        for cut in candidates
    ]
    return float(candidates[int(np.argmax(scores))])


def _beat_support(beat: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The activation's peak within ±2 frames of each beat."""
    tolerant = maximum_filter1d(beat, size=5, mode="constant")
    return np.interp(frames, np.arange(beat.size), tolerant)


def _support(beat: np.ndarray, frames: np.ndarray) -> float:
    """How well beats explain the activation: their mean support."""
    if frames.size == 0:
        return 0.0
    return float(_beat_support(beat, frames).mean())
