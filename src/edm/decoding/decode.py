"""Frame activations → :class:`TrackStructure`: beats, downbeats, BPM, sections, labels, energy.

Pure numpy functions, each one step:

- :func:`decode_beats`: a constant-tempo grid (:mod:`edm.decoding.tempo`) over the whole
  track, as the annotation schema has it (pickup beats before bar 1 count too);
- :func:`decode_downbeats`: the beat phase (mod ``beats_per_bar``) whose beats carry the most
  downbeat activation;
- :func:`decode_boundaries`: the music's start (after the "unlabeled" frames and a beatless
  lead-in), then peaks of the boundary activation at least ``min_section_bars`` apart,
  snapped to the nearest downbeat when one is within half a bar (sections start on bars);
- :func:`describe_sections`: per section the label with the highest mean probability and the
  mean of each energy band.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import find_peaks

from edm.decoding.activations import FrameActivations
from edm.decoding.structure import Section, TrackStructure
from edm.decoding.tempo import BeatGrid, TempoSearch, estimate_beat_grid
from edm.vocabulary import BEATS_PER_BAR


@dataclass(frozen=True)
class DecodeParams:
    tempo: TempoSearch = field(default_factory=TempoSearch)
    beats_per_bar: int = BEATS_PER_BAR
    boundary_threshold: float = 0.4  # a boundary peak must reach this probability
    min_section_bars: float = 4.0  # EDM phrases: nothing shorter is called a section
    min_section_seconds: float = 4.0  # used when no tempo was found
    snap_to_downbeats: bool = True
    music_start_threshold: float = 0.5  # P(unlabeled) below this: the music has started
    # Silence before the first beat is a lead-in, not a section, when it is this short.
    max_lead_in_bars: float = 2.0


def decode_structure(
    activations: FrameActivations, params: DecodeParams | None = None
) -> TrackStructure:
    """The whole structure of one track from its activations."""
    params = params or DecodeParams()
    fps = activations.frame_rate
    grid = decode_beats(activations.beat, fps, params.tempo)
    beat_frames = grid.frames(activations.n_frames) if grid is not None else np.zeros(0)
    downbeat_frames = decode_downbeats(activations.downbeat, beat_frames, params.beats_per_bar)
    boundary_frames = decode_boundaries(activations, downbeat_frames, grid, params)
    sections = describe_sections(activations, boundary_frames)
    return TrackStructure(
        bpm=grid.bpm if grid is not None else None,
        beats=tuple(float(f / fps) for f in beat_frames),
        downbeats=tuple(float(f / fps) for f in downbeat_frames),
        sections=sections,
        duration=activations.duration,
        beats_per_bar=params.beats_per_bar,
        extra={"tempo_score": grid.score if grid is not None else 0.0},
    )


def decode_beats(
    beat_activation: np.ndarray, frame_rate: float, search: TempoSearch | None = None
) -> BeatGrid | None:
    return estimate_beat_grid(beat_activation, frame_rate, search)


def decode_downbeats(
    downbeat_activation: np.ndarray, beat_frames: np.ndarray, beats_per_bar: int = BEATS_PER_BAR
) -> np.ndarray:
    """The beats (fractional frames) that start bars: every ``beats_per_bar``-th, best phase."""
    if beat_frames.size == 0:
        return beat_frames
    tolerant = maximum_filter1d(np.asarray(downbeat_activation, dtype=np.float64), 3)
    at_beats = _sample(tolerant, beat_frames)
    scores = [at_beats[offset::beats_per_bar].mean() for offset in range(beats_per_bar)]
    return beat_frames[int(np.argmax(scores)) :: beats_per_bar]


def decode_boundaries(
    activations: FrameActivations,
    downbeat_frames: np.ndarray,
    grid: BeatGrid | None,
    params: DecodeParams | None = None,
) -> list[int]:
    """Section start frames, the first being where the music starts; strictly increasing."""
    params = params or DecodeParams()
    n = activations.n_frames
    fps = activations.frame_rate
    if grid is not None:
        min_gap = params.min_section_bars * params.beats_per_bar * grid.period
        half_bar = params.beats_per_bar * grid.period / 2
    else:
        min_gap, half_bar = params.min_section_seconds * fps, 0.0

    def snapped(frame: float) -> int:
        if params.snap_to_downbeats and downbeat_frames.size and half_bar > 0:
            nearest = downbeat_frames[np.argmin(np.abs(downbeat_frames - frame))]
            if abs(nearest - frame) <= half_bar:
                frame = nearest
        return int(np.clip(round(frame), 0, n - 1))

    beat_frames = grid.frames(n) if grid is not None else np.zeros(0)
    lead_in_limit = params.max_lead_in_bars * params.beats_per_bar * grid.period if grid else 0.0
    start = snapped(
        music_start(activations, beat_frames, params.music_start_threshold, lead_in_limit)
    )
    peaks, _ = find_peaks(
        activations.boundary,
        height=params.boundary_threshold,
        distance=max(1, int(min_gap * 0.9)),  # a little slack: bars vary by rounding
    )
    starts = [start]
    for peak in sorted(snapped(p) for p in peaks):
        if peak - starts[-1] >= 0.9 * min_gap and n - peak >= 0.5 * min_gap:
            starts.append(peak)
    return starts


def music_start(
    activations: FrameActivations,
    beat_frames: np.ndarray | None = None,
    threshold: float = 0.5,
    max_lead_in_frames: float = 0.0,
) -> int:
    """Where the music starts: after the frames the model calls "unlabeled", and after a short
    beatless lead-in (the first strong beat, if within ``max_lead_in_frames`` of the start).

    Lead-ins are a small part of every track, so models learn the "unlabeled" class poorly;
    the first strong beat is the more reliable sign for tracks that start with drums.
    """
    start = 0
    row = activations.unlabeled_index
    if row is not None:
        labelled = np.flatnonzero(activations.label[row] < threshold)
        start = int(labelled[0]) if labelled.size else 0
    if beat_frames is not None and beat_frames.size and max_lead_in_frames > 0:
        tolerant = maximum_filter1d(np.asarray(activations.beat, dtype=np.float64), 3)
        levels = _sample(tolerant, beat_frames)
        strong = np.flatnonzero(levels >= 0.5 * np.percentile(levels, 90))
        if strong.size and beat_frames[strong[0]] <= max_lead_in_frames:
            start = max(start, round(float(beat_frames[strong[0]])))
    return start


def describe_sections(activations: FrameActivations, starts: list[int]) -> list[Section]:
    """One :class:`Section` per start, ending where the next starts (the last at the end)."""
    fps = activations.frame_rate
    ends = [*starts[1:], activations.n_frames]
    row = activations.unlabeled_index
    sections = []
    for start, end in zip(starts, ends, strict=True):
        if end <= start:
            continue
        probabilities = activations.label[:, start:end].mean(axis=1)
        if row is not None and len(activations.labels) > 1:
            probabilities[row] = -1.0  # after the music starts every section has a label
        best = int(np.argmax(probabilities))
        energy = activations.energy[:, start:end].mean(axis=1)
        sections.append(
            Section(
                start=start / fps,
                end=end / fps,
                label=activations.labels[best],
                confidence=float(probabilities[best]),
                energy=(float(energy[0]), float(energy[1]), float(energy[2])),
            )
        )
    return sections


def _sample(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` at fractional frame ``positions``."""
    return np.interp(positions, np.arange(values.size), values)
