"""The arrangement of an evaluation-only track: form, section lengths, parts and transitions.

Rules of their own (not :mod:`edm.synth`'s): a form drawn from a few festival-style plans,
section lengths from 4 to 20 bars (6, 10, 12 and 14 included), parts switched per section with
exceptions, and a transition drawn for every boundary.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FORMS: tuple[tuple[str, ...], ...] = (
    ("intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"),
    ("intro", "breakdown", "buildup", "drop", "breakdown", "buildup", "drop", "drop", "outro"),
    ("intro", "drop", "breakdown", "drop", "outro"),
    ("intro", "buildup", "drop", "breakbuild", "drop", "outro"),
    ("intro", "buildup", "drop", "breakdown", "breakbuild", "drop", "outro"),
)
LENGTHS_BARS = (4, 6, 8, 8, 10, 12, 12, 14, 16, 16, 20)
TRANSITIONS = ("none", "riser", "fill", "filter", "gap")
PARTS = ("kick", "hats", "snare", "bass", "pad", "lead")

# Which parts usually play in each section; each is flipped with a small chance.
_USUAL: dict[str, frozenset[str]] = {
    "intro": frozenset({"kick", "hats", "pad"}),
    "buildup": frozenset({"snare", "hats", "pad", "lead"}),
    "drop": frozenset({"kick", "hats", "snare", "bass", "lead"}),
    "breakdown": frozenset({"pad", "lead"}),
    "breakbuild": frozenset({"kick", "pad", "snare"}),
    "outro": frozenset({"kick", "hats", "bass"}),
}
_FLIP = 0.15
_LEVEL = {
    "intro": 0.5,
    "buildup": 0.7,
    "drop": 1.0,
    "breakdown": 0.45,
    "breakbuild": 0.6,
    "outro": 0.5,
}


@dataclass(frozen=True)
class Section:
    label: str
    bars: int
    parts: frozenset[str]
    level: float  # overall gain of the section
    transition: str  # how this section leads into the next one


@dataclass(frozen=True)
class Arrangement:
    bpm: float
    root_midi: int
    lead_in_s: float  # silence or noise before the first downbeat
    sections: tuple[Section, ...]

    @property
    def bar_s(self) -> float:
        return 4 * 60.0 / self.bpm

    @property
    def n_bars(self) -> int:
        return sum(section.bars for section in self.sections)


def draw_arrangement(rng: np.random.Generator, min_bpm: float, max_bpm: float) -> Arrangement:
    form = FORMS[int(rng.integers(len(FORMS)))]
    sections = []
    for label in form:
        parts = {p for p in PARTS if (p in _USUAL[label]) != (rng.random() < _FLIP)}
        if label == "drop" and rng.random() < 0.3:
            parts.discard("bass")  # a drop carried by the lead alone
        if label == "breakdown" and rng.random() < 0.3:
            parts |= {"kick", "hats"}  # a breakdown that keeps its drums
        level = float(np.clip(_LEVEL[label] * rng.uniform(0.7, 1.25), 0.2, 1.2))
        sections.append(
            Section(
                label=label,
                bars=int(LENGTHS_BARS[int(rng.integers(len(LENGTHS_BARS)))]),
                parts=frozenset(parts or {"pad"}),
                level=level,
                transition=TRANSITIONS[int(rng.integers(len(TRANSITIONS)))],
            )
        )
    return Arrangement(
        bpm=round(float(rng.uniform(min_bpm, max_bpm)), 2),
        root_midi=int(rng.integers(38, 50)),
        lead_in_s=round(float(rng.uniform(0.0, 1.5)), 3),
        sections=tuple(sections),
    )
