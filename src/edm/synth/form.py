"""The arrangement of one synthetic track: tempo, lead-in, the sections of the EDM form, key
and chords, and which parts play in each section.

Everything here is a choice drawn from the track's random generator, in a fixed order: the
same generator state gives the same arrangement, which is what keeps a seed's files identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edm.synth.config import SynthConfig
from edm.vocabulary import BEATS_PER_BAR

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Four-bar chord progressions as scale degrees (0 = i, 5 = VI, …), common in minor-key EDM.
PROGRESSIONS = ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4), (0, 0, 5, 6), (5, 6, 0, 0), (0, 5, 3, 4))
PHRASE_BARS = {
    "intro": (4, 8),
    "buildup": (4, 8),
    "drop": (8,),  # (4, 8) when there are three drops
    "breakdown": (4, 8),
    "breakbuild": (4,),
    "outro": (4, 8),
}


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
    rng: np.random.Generator, bar_seconds: float, budget_seconds: tuple[float, float]
) -> list[SectionPlan]:
    """Section labels and lengths in bars whose total fits the time budget (or comes closest)."""
    best: list[SectionPlan] = []
    best_miss = float("inf")
    low, high = budget_seconds
    for _ in range(200):
        labels = _choose_labels(rng)
        three_drops = labels.count("drop") == 3
        bars = [
            int(rng.choice((4, 8) if label == "drop" and three_drops else PHRASE_BARS[label]))
            for label in labels
        ]
        seconds = sum(bars) * bar_seconds
        miss = max(low - seconds, seconds - high, 0.0)
        if miss < best_miss:
            best_miss, best = miss, _with_start_bars(labels, bars)
        if miss == 0.0:
            break
    return best


def _choose_labels(rng: np.random.Generator) -> list[str]:
    labels = ["intro", "buildup", "drop"]
    n_drops = 3 if rng.random() < 0.35 else 2
    for _ in range(n_drops - 1):
        roll = rng.random()
        if roll < 0.25:
            middle = ["breakdown", "breakbuild"]
        elif roll < 0.45:
            middle = ["breakdown", "breakbuild", "buildup"]
        else:
            middle = ["breakdown", "buildup"]
        labels += [*middle, "drop"]
    return [*labels, "outro"]


def _with_start_bars(labels: list[str], bars: list[int]) -> list[SectionPlan]:
    plans, start = [], 1
    for label, length in zip(labels, bars, strict=True):
        plans.append(SectionPlan(label, start, length))
        start += length
    return plans


class Arrangement:
    """One track's timeline in samples and what plays when; drawn from ``rng`` on creation."""

    def __init__(self, rng: np.random.Generator, config: SynthConfig) -> None:
        self.rng = rng
        self.sr = config.sample_rate
        self.bpm = int(rng.integers(config.min_bpm, config.max_bpm + 1))
        self.beat_samples = 60.0 / self.bpm * self.sr
        self.lead_in_samples = int(rng.uniform(0.0, config.max_lead_in) * self.sr)
        self.tail_seconds = float(rng.uniform(0.5, 1.5))
        fixed = self.lead_in_samples / self.sr + self.tail_seconds
        budget = (max(config.min_seconds - fixed, self.bar_seconds), config.max_seconds - fixed)
        self.sections = plan_form(rng, self.bar_seconds, budget)
        self.total_bars = sum(s.bars for s in self.sections)
        self.total_beats = self.total_bars * BEATS_PER_BAR
        end = self.beat_position(self.total_beats)
        self.n = int(end + self.tail_seconds * self.sr)
        self.root = int(rng.integers(28, 40))  # E1..D#2: the bass octave
        self.progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        # Per beat: which section it belongs to (index into self.sections).
        self.section_of_beat = np.repeat(
            np.arange(len(self.sections)), [s.n_beats for s in self.sections]
        )
        self.parts = [self._choose_parts(s.label) for s in self.sections]

    @property
    def bar_seconds(self) -> float:
        return BEATS_PER_BAR * 60.0 / self.bpm

    @property
    def downbeat_seconds(self) -> float:
        """Time of the first downbeat (bar 1, beat 1), after the lead-in."""
        return self.lead_in_samples / self.sr

    @property
    def key(self) -> str:
        return f"{NOTE_NAMES[self.root % 12]} minor"

    def beat_position(self, beats: np.ndarray | float) -> np.ndarray:
        """Sample index of a (fractional) beat counted from the first downbeat."""
        return np.round(self.lead_in_samples + np.asarray(beats) * self.beat_samples).astype(
            np.int64
        )

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
        return levels

    def chord_degree(self, bar: np.ndarray) -> np.ndarray:
        return np.array(self.progression)[bar % len(self.progression)]

    def scale_note(self, degree: np.ndarray) -> np.ndarray:
        """Semitones above the root of scale degree ``degree`` (may exceed an octave)."""
        degree = np.asarray(degree)
        return 12 * (degree // 7) + np.array(MINOR_SCALE)[degree % 7]

    def _choose_parts(self, label: str) -> dict[str, float]:
        """Instrument levels (0..1) of one section: the arrangement that makes its energy."""
        r = self.rng.random
        if label == "intro":
            return {
                "kick": 1.0 if r() < 0.85 else 0.0,
                "hat": 0.7,
                "clap": 0.6 if r() < 0.3 else 0.0,
                "bass": 0.5 if r() < 0.4 else 0.0,
                "pad": 0.6 if r() < 0.4 else 0.0,
            }
        if label == "buildup":
            kick = float(self.rng.choice([1.0, 0.0, 0.5]))  # 0.5: kick in the first half only
            return {
                "kick": kick,
                "hat": 0.8,
                "clap": 0.5,
                "bass": 0.5 if r() < 0.5 else 0.0,
                "lead": 0.5 if r() < 0.6 else 0.0,
                "pad": 0.6 if r() < 0.5 else 0.0,
                "riser": 1.0,
                "roll": 1.0,
            }
        if label == "drop":
            return {
                "kick": 1.0,
                "clap": 1.0,
                "hat": 1.0,
                "open_hat": 1.0,
                "bass": 1.0,
                "lead": 1.0,
                "pad": 0.4 if r() < 0.3 else 0.0,
                "crash": 1.0 if r() < 0.8 else 0.0,
            }
        if label == "breakdown":
            return {
                "kick_lp": 0.35 if r() < 0.4 else 0.0,
                "hat": 0.3 if r() < 0.3 else 0.0,
                "pad": 1.0,
                "lead": 0.45 if r() < 0.7 else 0.0,
            }
        if label == "breakbuild":
            return {
                "kick_lp": 0.35 if r() < 0.5 else 0.0,
                "hat": 0.5 if r() < 0.5 else 0.0,
                "pad": 1.0,
                "lead": 0.5 if r() < 0.5 else 0.0,
                "riser": 0.7,
                "roll": 0.6,
            }
        # outro
        return {
            "kick": 1.0,
            "hat": 0.8,
            "clap": 0.6 if r() < 0.5 else 0.0,
            "bass": 0.5 if r() < 0.5 else 0.0,
            "pad": 0.4 if r() < 0.3 else 0.0,
        }
