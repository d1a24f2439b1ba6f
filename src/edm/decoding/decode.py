"""Frame activations → :class:`TrackStructure`: beats, downbeats, BPM, sections, labels, energy.

Pure numpy functions, each one step:

- :func:`decode_beats`: the beats where there is music, following tempo changes, at the tempo
  octave the downbeats support (:mod:`edm.decoding.beats` over :mod:`edm.decoding.tempo`);
- :func:`~edm.decoding.metre.choose_metre`: 3 or 4 beats per bar, or 4/4 assumed;
- :func:`choose_downbeats`: the beat phase (mod ``beats_per_bar``) that the whole track
  supports best: the model's downbeat activation plus bar-line change, section boundaries
  and the phrase grid (:mod:`edm.decoding.bars`); :func:`decode_downbeats` is the
  downbeat-activation-only vote;
- :func:`decode_boundaries`: the music's start (after the "unlabeled" frames and a beatless
  lead-in), then section starts chosen among the downbeats by dynamic programming over the
  boundary activation, descriptor change and phrase grid (:mod:`edm.decoding.sections`);
  without a beat grid, peaks of the boundary activation at least ``min_section_seconds`` apart;
- :func:`describe_sections`: per section a label chosen with the whole track's form and
  energy as priors (:mod:`edm.decoding.labels`), and the mean of each energy band.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from scipy.ndimage import maximum_filter1d
from scipy.signal import find_peaks

from edm.decoding.activations import FrameActivations
from edm.decoding.bars import (
    PhaseWeights,
    band_levels,
    choose_phase,
    frame_descriptors,
    phase_scores,
)
from edm.decoding.beats import BeatTrack, BeatTracking, decode_beat_track
from edm.decoding.confidence import track_confidence
from edm.decoding.labels import LabelPriors, grammar_path, section_scores
from edm.decoding.learned_labels import SectionLabeller
from edm.decoding.metre import Metre, MetreSearch, choose_metre
from edm.decoding.sections import SectionParams, segment_bars
from edm.decoding.structure import Section, TrackStructure
from edm.decoding.tempo import BeatGrid, TempoSearch
from edm.errors import ConfigError
from edm.vocabulary import BEATS_PER_BAR


@dataclass(frozen=True)
class DecodeParams:
    tempo: TempoSearch = field(default_factory=TempoSearch)
    tracking: BeatTracking = field(default_factory=BeatTracking)  # tempo changes, silence
    # None: 3 or 4 as the downbeats say (decoding/metre.py); a number: that many, always.
    beats_per_bar: int | None = None
    metre: MetreSearch = field(default_factory=MetreSearch)
    phase: PhaseWeights = field(default_factory=PhaseWeights)  # choosing the downbeat phase
    sections: SectionParams = field(default_factory=SectionParams)  # sections on the bar grid
    labels: LabelPriors = field(default_factory=LabelPriors)  # form and energy priors
    # Without a beat grid: boundary peaks reaching this probability, this far apart.
    boundary_threshold: float = 0.4
    min_section_seconds: float = 4.0
    music_start_threshold: float = 0.5  # P(unlabeled) below this: the music has started
    # Silence before the first beat is a lead-in, not a section, when it is this short.
    max_lead_in_bars: float = 2.0

    def with_bpm_range(self, min_bpm: float | None, max_bpm: float | None) -> DecodeParams:
        """These settings with the tempo searched in ``min_bpm..max_bpm`` (a user's hint; None
        keeps that end); ConfigError naming the options when the range is empty."""
        if min_bpm is None and max_bpm is None:
            return self
        low = self.tempo.min_bpm if min_bpm is None else float(min_bpm)
        high = self.tempo.max_bpm if max_bpm is None else float(max_bpm)
        if not 0 < low < high:
            raise ConfigError(f"--min-bpm {low:g} and --max-bpm {high:g} leave no tempo to find")
        return replace(self, tempo=replace(self.tempo, min_bpm=low, max_bpm=high))


def decode_structure(
    activations: FrameActivations,
    params: DecodeParams | None = None,
    labeller: SectionLabeller | None = None,
) -> TrackStructure:
    """The whole structure of one track from its activations; ``labeller``: the labels learnt
    with the checkpoint (:mod:`edm.decoding.learned_labels`) instead of the hand priors."""
    params = params or DecodeParams()
    fps = activations.frame_rate
    track = decode_beats(activations.beat, fps, params.tempo, activations, params.tracking)
    beat_frames = track.frames(activations.n_frames) if track is not None else np.zeros(0)
    if params.beats_per_bar is None:
        metre = choose_metre(activations.downbeat, beat_frames, params.metre)
    else:
        metre = Metre(params.beats_per_bar, 1.0, assumed=False)
    params = replace(params, beats_per_bar=metre.beats_per_bar)
    descriptors = frame_descriptors(activations)
    downbeat_frames = choose_downbeats(activations, beat_frames, params, descriptors)
    boundary_frames = decode_boundaries(activations, downbeat_frames, track, params, descriptors)
    sections = describe_sections(activations, boundary_frames, params.labels, labeller)
    if sections and beat_frames.size:
        # Beats start at bar 1 of the first section, as annotations have them.
        first = sections[0].start * fps - 0.25 * track.period  # type: ignore[union-attr]
        beat_frames = beat_frames[beat_frames >= first]
        downbeat_frames = downbeat_frames[downbeat_frames >= first]
    beats = tuple(float(f / fps) for f in beat_frames)
    bpm = track.bpm if track is not None else None
    confidence = track_confidence(
        activations,
        beats,
        bpm,
        [section.confidence for section in sections],
        music_start=sections[0].start if sections else 0.0,
        search=params.tempo,
    )
    return TrackStructure(
        bpm=bpm,
        beats=beats,
        downbeats=tuple(float(f / fps) for f in downbeat_frames),
        sections=sections,
        duration=activations.duration,
        beats_per_bar=metre.beats_per_bar,
        extra={"tempo_score": track.score if track is not None else 0.0},
        confidence=confidence,
        tempo_curve=track.curve if track is not None else (),
        metre=metre,
        tempo_range=(params.tempo.min_bpm, params.tempo.max_bpm),
    )


def decode_beats(
    beat_activation: np.ndarray,
    frame_rate: float,
    search: TempoSearch | None = None,
    activations: FrameActivations | None = None,
    tracking: BeatTracking | None = None,
) -> BeatTrack | None:
    """The beats (:mod:`edm.decoding.beats`); ``activations`` lend the downbeats (tempo
    octave) and the input features' loudness (silence)."""
    downbeat = levels = None
    if activations is not None:
        downbeat = activations.downbeat
        bands = band_levels(activations.features)
        levels = bands.mean(axis=0) if bands is not None else None
    return decode_beat_track(
        beat_activation, frame_rate, search, downbeat=downbeat, levels=levels, tracking=tracking
    )


def decode_downbeats(
    downbeat_activation: np.ndarray, beat_frames: np.ndarray, beats_per_bar: int = BEATS_PER_BAR
) -> np.ndarray:
    """The beats (fractional frames) that start bars: every ``beats_per_bar``-th, at the phase
    with the most downbeat activation (the model's vote alone; see :func:`choose_downbeats`)."""
    if beat_frames.size == 0:
        return beat_frames
    tolerant = maximum_filter1d(np.asarray(downbeat_activation, dtype=np.float64), 3)
    at_beats = _sample(tolerant, beat_frames)
    scores = [at_beats[offset::beats_per_bar].mean() for offset in range(beats_per_bar)]
    return beat_frames[int(np.argmax(scores)) :: beats_per_bar]


def choose_downbeats(
    activations: FrameActivations,
    beat_frames: np.ndarray,
    params: DecodeParams | None = None,
    descriptors: list[np.ndarray] | None = None,
) -> np.ndarray:
    """The beats that start bars, at the phase the whole track supports best: the model's
    downbeat activation, plus change, boundaries and phrases at bar lines."""
    params = params or DecodeParams()
    if beat_frames.size == 0:
        return beat_frames
    per_bar = params.beats_per_bar or BEATS_PER_BAR
    scores = phase_scores(activations, beat_frames, per_bar, params.phase, descriptors)
    return beat_frames[choose_phase(scores) :: per_bar]


def decode_boundaries(
    activations: FrameActivations,
    downbeat_frames: np.ndarray,
    grid: BeatGrid | BeatTrack | None,
    params: DecodeParams | None = None,
    descriptors: list[np.ndarray] | None = None,
) -> list[int]:
    """Section start frames, the first being where the music starts; strictly increasing."""
    params = params or DecodeParams()
    n = activations.n_frames
    bars_known = grid is not None and downbeat_frames.size > 0
    per_bar = params.beats_per_bar or BEATS_PER_BAR
    half_bar = per_bar * grid.period / 2 if grid is not None else 0.0
    beat_frames = grid.frames(n) if grid is not None else np.zeros(0)
    lead_in_limit = params.max_lead_in_bars * 2 * half_bar
    start = music_start(activations, beat_frames, params.music_start_threshold, lead_in_limit)
    if bars_known:
        start = _bar_one(start, downbeat_frames, half_bar)
    start = int(np.clip(round(start), 0, n - 1))
    if grid is not None and bars_known:
        if descriptors is None:
            descriptors = frame_descriptors(activations)
        return segment_bars(
            activations.boundary,
            descriptors,
            start,
            downbeat_frames,
            grid.period,
            per_bar,
            params.sections,
        )
    min_gap = params.min_section_seconds * activations.frame_rate
    peaks, _ = find_peaks(
        activations.boundary, height=params.boundary_threshold, distance=max(1, int(min_gap))
    )
    starts = [start]
    for peak in peaks:
        if peak - starts[-1] >= min_gap and n - peak >= 0.5 * min_gap:
            starts.append(int(peak))
    return starts


def _bar_one(start: float, downbeat_frames: np.ndarray, half_bar: float) -> float:
    """The bar line the first section starts on: the music's start when it is near one, else
    the next one within a bar (pickup beats, a fill before bar 1, belong to no section)."""
    nearest = downbeat_frames[np.argmin(np.abs(downbeat_frames - start))]
    if abs(nearest - start) <= 0.75 * half_bar:  # up to 1.5 beats: the same bar line
        return float(nearest)
    later = downbeat_frames[(downbeat_frames >= start) & (downbeat_frames <= start + 2 * half_bar)]
    if later.size:
        return float(later[0])
    return float(nearest) if abs(nearest - start) <= half_bar else start


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


def describe_sections(
    activations: FrameActivations,
    starts: list[int],
    priors: LabelPriors | None = None,
    labeller: SectionLabeller | None = None,
) -> list[Section]:
    """One :class:`Section` per start, ending where the next starts (the last at the end),
    labelled with the track's form and energy in view (:func:`label_sections`)."""
    fps = activations.frame_rate
    ends = [*starts[1:], activations.n_frames]
    spans = [(a, b) for a, b in zip(starts, ends, strict=True) if b > a]
    if not spans:
        return []
    probabilities = _label_means(activations, spans)
    levels = heard_levels(activations)
    priors = priors or LabelPriors()
    hand = hand_evidence(activations, spans, levels, priors)
    if labeller is not None and labeller.fits(activations):
        chosen = labeller.label(activations, spans, levels, hand)
    else:
        chosen = grammar_path(hand, activations.labels, priors)
    if priors.one_outro:
        merged_spans, chosen = _one_outro(spans, chosen, activations.labels)
        if len(merged_spans) < len(spans):
            spans, probabilities = merged_spans, _label_means(activations, merged_spans)
    energy = np.stack([activations.energy[:, a:b].mean(axis=1) for a, b in spans])
    return [
        Section(
            start=a / fps,
            end=b / fps,
            label=activations.labels[best],
            confidence=float(probabilities[i, best]),
            energy=(float(energy[i, 0]), float(energy[i, 1]), float(energy[i, 2])),
        )
        for i, ((a, b), best) in enumerate(zip(spans, chosen, strict=True))
    ]


def hand_evidence(
    activations: FrameActivations,
    spans: list[tuple[int, int]],
    levels: np.ndarray,
    priors: LabelPriors,
) -> np.ndarray:
    """Per span, the hand priors' evidence for each label (:func:`section_scores`), as
    :func:`describe_sections` gives a labeller. ``levels``: :func:`heard_levels`."""
    heard = np.stack([levels[:, a:b].mean(axis=1) for a, b in spans])
    rise = np.array([_rise(levels, a, b) for a, b in spans])
    probabilities = _label_means(activations, spans)
    return section_scores(probabilities, heard, rise, activations.labels, priors)


def heard_levels(activations: FrameActivations) -> np.ndarray:
    """Low/mid/high loudness per frame ``(3, T)`` as the label priors read it: from the input
    features when there are any, since the model's energy head, like its labels, can be unsure
    of sounds it never heard, and the spectrum is not; else the energy head."""
    levels = band_levels(activations.features)
    return activations.energy if levels is None else levels


def _label_means(activations: FrameActivations, spans: list[tuple[int, int]]) -> np.ndarray:
    probabilities = np.stack([activations.label[:, a:b].mean(axis=1) for a, b in spans])
    row = activations.unlabeled_index
    if row is not None and len(activations.labels) > 1:
        probabilities[:, row] = 0.0  # after the music starts every section has a label
    return probabilities


def _one_outro(
    spans: list[tuple[int, int]], chosen: list[int], labels: tuple[str, ...]
) -> tuple[list[tuple[int, int]], list[int]]:
    """Outro sections in a row become one: a track ends once, and a change inside its outro
    (a part dropping out) is not a section of its own."""
    if "outro" not in labels:
        return spans, chosen
    outro = labels.index("outro")
    kept_spans, kept = [spans[0]], [chosen[0]]
    for span, label in zip(spans[1:], chosen[1:], strict=True):
        if label == outro and kept[-1] == outro:
            kept_spans[-1] = (kept_spans[-1][0], span[1])
        else:
            kept_spans.append(span)
            kept.append(label)
    return kept_spans, kept


def _rise(levels: np.ndarray, start: int, end: int) -> float:
    """How much louder (mean over bands) the last quarter of a span is than its first, in
    units of the track's range of that mean."""
    quarter = max(1, (end - start) // 4)
    overall = levels.mean(axis=0)
    level = overall[start:end]
    spread = float(np.percentile(overall, 95) - np.percentile(overall, 5)) + 1e-9
    return float(level[-quarter:].mean() - level[:quarter].mean()) / spread


def _sample(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of ``values`` at fractional frame ``positions``."""
    return np.interp(positions, np.arange(values.size), values)
