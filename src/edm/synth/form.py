"""The arrangement of one synthetic track: tempo, lead-in and pickup, the sections of the EDM
form fitted to the requested length, key and chords, and which parts play in each section.

Everything here is a choice drawn from the track's random generator, in a fixed order: the
same generator state gives the same arrangement, which is what keeps a seed's files identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edm.synth.arrangements import DIRECTIONS, choose_parts, draw_form, draw_pickup_beats
from edm.synth.config import MIN_FORM_BARS, MIN_TAIL_SECONDS, SynthConfig
from edm.synth.lengths import bar_budget, fit_bars
from edm.vocabulary import BEATS_PER_BAR

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Four-bar chord progressions as scale degrees (0 = i, 5 = VI, …), common in minor-key EDM.
PROGRESSIONS = ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4), (0, 0, 5, 6), (5, 6, 0, 0), (0, 5, 3, 4))


@dataclass(frozen=True)
class SectionPlan:
    label: str
    start_bar: int  # 1-based
    bars: int

    @property
    def first_beat(self) -> int:
        """Index of the section's first beat, counted from the first downbeat."""
        return (self.start_bar - 1) * BEATS_PER_BAR

    @property
    def n_beats(self) -> int:
        return self.bars * BEATS_PER_BAR


def plan_form(
    rng: np.random.Generator, family: str, bar_range: tuple[int, int]
) -> list[SectionPlan]:
    """Sections of an ``family`` form with between ``bar_range`` bars in all: the first of a
    few drawn forms that fits, else the closest one shortened or lengthened to fit."""
    fewest, most = bar_range
    best: tuple[list[str], list[int]] | None = None
    best_miss = float("inf")
    for _ in range(20):
        labels, bars = draw_form(rng, family)
        miss = max(fewest - sum(bars), sum(bars) - most, 0)
        if miss < best_miss:
            best_miss, best = miss, (labels, bars)
        if miss == 0:
            break
    assert best is not None
    # Long phrases are what makes an extended track; half of them keep theirs and lose a
    # breakdown-to-drop cycle instead, the other half keep their cycles.
    cut_cycles_first = family == "extended" and bool(rng.random() < 0.5)
    labels, bars = fit_bars(*best, most, fewest, cut_cycles_first=cut_cycles_first)
    plans, start = [], 1
    for label, length in zip(labels, bars, strict=True):
        plans.append(SectionPlan(label, start, length))
        start += length
    return plans


class Arrangement:
    """One track's timeline in samples and what plays when; drawn from ``rng`` on creation."""

    def __init__(self, rng: np.random.Generator, config: SynthConfig, family: str) -> None:
        self.rng = rng
        self.family = family
        self.sr = config.sample_rate
        self.bpm = int(rng.integers(config.min_bpm, config.max_bpm + 1))
        self.beat_samples = 60.0 / self.bpm * self.sr
        self.pickup_beats = draw_pickup_beats(rng, family)
        silence = rng.uniform(0.0, config.max_lead_in)
        lead_in = silence + self.pickup_beats * self.beat_samples / self.sr
        bars = bar_budget(
            self.bar_seconds,
            lead_in,
            config.shortest,
            config.max_seconds,
            min_tail=MIN_TAIL_SECONDS,
        )
        if bars[1] < MIN_FORM_BARS:  # only a track without lead-in fits; the config allows it
            self.pickup_beats, lead_in = 0, 0.0
            bars = bar_budget(
                self.bar_seconds,
                0.0,
                config.shortest,
                config.max_seconds,
                min_tail=MIN_TAIL_SECONDS,
            )
        self.lead_in_samples = int(lead_in * self.sr)
        self.sections = plan_form(rng, family, bars)
        self.total_bars = sum(s.bars for s in self.sections)
        self.total_beats = self.total_bars * BEATS_PER_BAR
        end = int(self.beat_position(self.total_beats))
        # The tail takes what the bars leave of the length range (a bar at most).
        low = int(np.ceil(config.shortest * self.sr))
        high = int(np.floor(config.max_seconds * self.sr))
        tail = int(rng.uniform(0.5, 1.5) * self.sr)
        self.n = int(np.clip(end + tail, max(low, end + int(MIN_TAIL_SECONDS * self.sr)), high))
        self.root = int(rng.integers(28, 40))  # E1..D#2: the bass octave
        self.progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        # Per beat: which section it belongs to (index into self.sections).
        self.section_of_beat = np.repeat(
            np.arange(len(self.sections)), [s.n_beats for s in self.sections]
        )
        self.parts = choose_parts(rng, family, [s.label for s in self.sections])

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * 60.0 / self.bpm

    @property
    def downbeat_seconds(self) -> float:
        """Time of the first downbeat (bar 1, beat 1), after the lead-in and any pickup."""
        return self.lead_in_samples / self.sr

    @property
    def key(self) -> str:
        return f"{NOTE_NAMES[self.root % 12]} minor"

    def beat_position(self, beats: np.ndarray | float) -> np.ndarray:
        """Sample index of a (fractional) beat counted from the first downbeat."""
        return np.round(self.lead_in_samples + np.asarray(beats) * self.beat_samples).astype(
            np.int64
        )

    def direction(self, section: int, name: str) -> float:
        assert name in DIRECTIONS
        return self.parts[section].get(name, 0.0)

    def halftime_beats(self) -> np.ndarray:
        """True on every beat of a half-time section (kick on 1 and 3, snare on 3)."""
        flags = np.array([p.get("halftime", 0.0) > 0 for p in self.parts])
        return flags[self.section_of_beat]

    def beat_levels(self, part: str) -> np.ndarray:
        """Level of ``part`` on every beat of the track."""
        levels = np.array([p.get(part, 0.0) for p in self.parts])[self.section_of_beat]
        if part == "kick":
            # A buildup with kick level 0.5 drops its kick halfway: tension before the drop.
            for i, section in enumerate(self.sections):
                if self.parts[i].get("kick") == 0.5:
                    first = section.first_beat
                    half = section.n_beats // 2
                    levels[first : first + half] = 1.0
                    levels[first + half : first + 2 * half] = 0.0
            beat_in_bar = np.arange(self.total_beats) % BEATS_PER_BAR
            levels[self.halftime_beats() & (beat_in_bar % 2 == 1)] = 0.0
        return levels

    def gaps(self) -> list[tuple[int, int, bool]]:
        """(first sample, end sample, filtered) of every gap before a drop."""
        spans = []
        for i, section in enumerate(self.sections):
            beats = int(self.direction(i, "gap_beats"))
            if beats:
                end = section.first_beat + section.n_beats
                start, stop = self.beat_position(np.array([end - beats, end]))
                spans.append((int(start), int(stop), self.direction(i, "gap_filtered") > 0))
        return spans

    def sweeps(self) -> list[tuple[int, int]]:
        """(first sample, end sample) of every section whose mix opens from low-passed."""
        spans = []
        for i, section in enumerate(self.sections):
            if self.direction(i, "sweep"):
                first = section.first_beat
                start, stop = self.beat_position(np.array([first, first + section.n_beats]))
                spans.append((int(start), int(stop)))
        return spans

    def chord_degree(self, bar: np.ndarray) -> np.ndarray:
        return np.array(self.progression)[bar % len(self.progression)]

    def scale_note(self, degree: np.ndarray) -> np.ndarray:
        """Semitones above the root of scale degree ``degree`` (may exceed an octave)."""
        degree = np.asarray(degree)
        return 12 * (degree // 7) + np.array(MINOR_SCALE)[degree % 7]
