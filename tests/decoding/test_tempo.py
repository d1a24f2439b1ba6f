from __future__ import annotations

import numpy as np
import pytest

from edm.decoding.tempo import TempoSearch, estimate_beat_grid

FPS = 50.0


def impulse_train(
    bpm: float,
    seconds: float = 60.0,
    first: float = 0.37,
    *,
    heights: tuple[float, ...] = (1.0,),
    offbeat: float = 0.0,
    missing: float = 0.0,
    jitter: float = 0.0,
    seed: int = 0,
) -> np.ndarray:
    """A beat activation: peaks (1 frame, 0.5 beside) on a grid; ``heights`` cycle per beat."""
    rng = np.random.default_rng(seed)
    activation = np.zeros(int(seconds * FPS))
    period = 60.0 / bpm
    for index, time in enumerate(np.arange(first, seconds, period)):
        if rng.random() < missing:
            continue
        height = heights[index % len(heights)]
        _peak(activation, time + rng.normal(0.0, jitter) if jitter else time, height)
        if offbeat:
            _peak(activation, time + period / 2, offbeat)
    return activation


def full_grid(bpm: float, seconds: float, first: float = 0.37) -> np.ndarray:
    """Every beat of the track, counting back from the first peak to the start (pickups)."""
    period = 60.0 / bpm
    return np.arange(first % period, seconds, period)


def _peak(activation: np.ndarray, time: float, height: float) -> None:
    frame = round(time * FPS)
    for offset, weight in ((-1, 0.5), (0, 1.0), (1, 0.5)):
        if 0 <= frame + offset < activation.size:
            activation[frame + offset] = max(activation[frame + offset], weight * height)


@pytest.mark.parametrize("bpm", [70.0, 87.0, 120.0, 128.0, 140.0, 150.0, 160.0, 174.0, 180.0])
def test_a_constant_grid_gives_its_tempo_and_phase(bpm: float) -> None:
    grid = estimate_beat_grid(impulse_train(bpm), FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(bpm, rel=1e-3)
    beats = grid.times(int(60 * FPS))
    expected = full_grid(bpm, 60.0)
    assert beats.size == expected.size
    assert np.abs(beats - expected).max() < 0.02  # one frame


def test_fractional_tempo_is_found_to_a_hundredth_of_a_bpm() -> None:
    grid = estimate_beat_grid(impulse_train(127.63, seconds=90), FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(127.63, abs=0.02)


def test_missing_peaks_and_jitter_do_not_move_the_grid() -> None:
    activation = impulse_train(174.0, missing=0.4, jitter=0.008, seed=3)
    grid = estimate_beat_grid(activation, FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(174.0, rel=0.002)
    # The grid keeps beating through the gaps: every beat of the track, not only the peaks.
    assert grid.times(activation.size).size == full_grid(174.0, 60.0).size


def test_a_long_gap_without_beats_is_bridged() -> None:
    activation = impulse_train(126.0, seconds=90)
    activation[30 * 50 : 50 * 50] = 0.0  # a breakdown without drums
    grid = estimate_beat_grid(activation, FPS)
    assert grid is not None
    beats = grid.times(activation.size)
    expected = full_grid(126.0, 90.0)
    assert beats.size == expected.size
    assert np.abs(beats - expected).max() < 0.03


@pytest.mark.parametrize("bpm", [120.0, 140.0, 174.0])
def test_offbeat_hats_do_not_double_the_tempo(bpm: float) -> None:
    grid = estimate_beat_grid(impulse_train(bpm, offbeat=0.3), FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(bpm, rel=0.01)


@pytest.mark.parametrize("bpm", [120.0, 150.0, 174.0])
def test_weaker_backbeats_do_not_halve_the_tempo(bpm: float) -> None:
    # Beats 2 and 4 at half the strength of 1 and 3: every other beat still is a beat.
    grid = estimate_beat_grid(impulse_train(bpm, heights=(1.0, 0.55)), FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(bpm, rel=0.01)


@pytest.mark.parametrize("bpm", [128.0, 150.0, 174.0])
def test_uneven_beats_with_strong_offbeats_keep_the_tempo(bpm: float) -> None:
    # What an under-trained model makes of a house loop: claps on 2 and 4 stronger than the
    # kicks on 1 and 3, and the off-beat hats almost as strong as beats.
    activation = impulse_train(bpm, heights=(0.5, 0.85), offbeat=0.6)
    grid = estimate_beat_grid(activation, FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(bpm, rel=0.01)


def test_half_tempo_needs_evidence_on_the_half_beats() -> None:
    # Peaks at 87 BPM only: 87 it is, not 174 (which would claim beats that are not there).
    grid = estimate_beat_grid(impulse_train(87.0), FPS)
    assert grid is not None
    assert grid.bpm == pytest.approx(87.0, rel=0.01)


def test_the_search_range_bounds_the_answer() -> None:
    activation = impulse_train(174.0)
    grid = estimate_beat_grid(activation, FPS, TempoSearch(min_bpm=70, max_bpm=150))
    assert grid is not None
    assert grid.bpm == pytest.approx(87.0, rel=0.01)  # the only octave left in range


def test_no_beats_in_silence() -> None:
    assert estimate_beat_grid(np.zeros(3000), FPS) is None
    assert estimate_beat_grid(np.full(3000, 0.05), FPS) is None


def test_an_empty_bpm_range_is_refused() -> None:
    with pytest.raises(ValueError, match="BPM range"):
        TempoSearch(min_bpm=180, max_bpm=70)


def _one_period(weights, frames, period, cycles_per_frame, search):  # type: ignore[no-untyped-def]
    """The phase search for one period as it was written before it was batched: the oracle."""
    n_bins = max(4, round(period / 0.5))
    bins = ((frames % period) / period * n_bins).astype(np.int64) % n_bins
    folded = np.bincount(bins, weights=weights, minlength=n_bins) * (period * cycles_per_frame)
    index = np.arange(n_bins)
    on_grid = folded[(index[:, None] + np.arange(-2, 3)) % n_bins].mean(axis=1)
    offsets: tuple[float, ...] = (1 / 2, 1 / 3, 2 / 3, 1 / 4, 3 / 4)
    if n_bins >= 80:  # slow grids: their fifths count against them too
        offsets += (1 / 5, 2 / 5, 3 / 5, 4 / 5)
    shifts = np.array([round(offset * n_bins) for offset in offsets])
    weight = np.array([search.half_beat_weight if o == 0.5 else 1.0 for o in offsets])
    off_grid = (on_grid[(index[None, :] + shifts[:, None]) % n_bins] * weight[:, None]).max(axis=0)
    contrast = on_grid - off_grid
    best = int(np.argmax(contrast))
    return float(contrast[best]), (best + 0.5) * period / n_bins


@pytest.mark.parametrize("bpm", [120.0, 128.0, 174.0])
def test_the_batched_phase_search_gives_each_period_its_own_figures_to_the_bit(bpm: float) -> None:
    from edm.decoding.tempo import _best_phases

    rng = np.random.default_rng(int(bpm))
    activation = impulse_train(bpm, seconds=180.0, offbeat=0.4, jitter=0.01, seed=int(bpm))
    activation += 0.05 * rng.random(activation.size)  # noise: every frame carries some
    frames = np.flatnonzero(activation > 0).astype(np.float64)
    weights = activation[frames.astype(np.int64)]
    # Periods that divide frame numbers exactly are where the phase is computed differently.
    periods = np.concatenate([np.linspace(16.0, 43.0, 901), [20.0, 23.4375, 25.0, 40.0]])
    search = TempoSearch()
    contrasts, phases = _best_phases(weights, frames, periods, 1.0 / activation.size, search)
    for period, contrast, phase in zip(periods, contrasts, phases, strict=True):
        expected_contrast, expected_phase = _one_period(
            weights, frames, period, 1.0 / activation.size, search
        )
        assert (contrast, phase) == (expected_contrast, expected_phase), period
