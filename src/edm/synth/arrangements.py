"""Arrangement families: which sections a track has, how long, and what plays in each.

Each family draws from the track's random generator in a fixed order. Section levels are
instrument levels in 0..1; a few keys are not instruments but playing directions:
``halftime`` (kick on beats 1 and 3, snare on 3), ``fill_beats`` (a drum fill over the
section's last beats), ``kick_roll`` (the kick in eighths, then sixteenths, over the last
bar), ``sweep`` (the whole mix low-passed at the section's start, opening up to its end),
``gap_beats`` with ``gap_filtered`` (the section's last beats silent, or low-passed, before
the drop that follows).
"""

from __future__ import annotations

import numpy as np

from edm.synth.families import ARRANGEMENT_FAMILIES

Parts = dict[str, float]
DIRECTIONS = ("halftime", "fill_beats", "gap_beats", "gap_filtered", "kick_roll", "sweep")

TEMPLATE_BARS = {
    "intro": (4, 8),
    "buildup": (4, 8),
    "drop": (8,),  # (4, 8) when there are three drops
    "breakdown": (4, 8),
    "breakbuild": (4,),
    "outro": (4, 8),
}
PICKUP_BARS = {
    "intro": (4, 8, 16),
    "buildup": (4, 8),
    "drop": (8, 16),
    "breakdown": (4, 8, 16),
    "breakbuild": (4, 8),
    "outro": (4, 8, 16),
}
EXTENDED_BARS = {
    "intro": (16, 32),
    "buildup": (8, 16),
    "drop": (16, 32),
    "breakdown": (8, 16, 32),
    "breakbuild": (4, 8),
    "outro": (16, 32),
}
_BARS = {"template": TEMPLATE_BARS, "pickup": PICKUP_BARS, "extended": EXTENDED_BARS}
assert set(_BARS) == set(ARRANGEMENT_FAMILIES)


def draw_form(rng: np.random.Generator, family: str) -> tuple[list[str], list[int]]:
    """Section labels and their lengths in bars, before fitting to the track length."""
    labels = _choose_labels(rng, family)
    three_drops = labels.count("drop") == 3
    table = _BARS[family]
    bars = [
        int(
            rng.choice(
                (4, 8) if family == "template" and label == "drop" and three_drops else table[label]
            )
        )
        for label in labels
    ]
    return labels, bars


def draw_pickup_beats(rng: np.random.Generator, family: str) -> int:
    """Beats of drum fill before the first downbeat (0: the track starts on bar 1)."""
    if family == "pickup":
        return int(rng.choice((0, 1, 2, 2, 3, 3)))
    if family == "extended":
        return int(rng.choice((1, 2, 3))) if rng.random() < 0.3 else 0
    return 0


def choose_parts(rng: np.random.Generator, family: str, labels: list[str]) -> list[Parts]:
    """Levels and playing directions of every section."""
    if family == "template":
        return [_template_parts(rng, label) for label in labels]
    style = _TrackStyle(rng, family)
    parts = [style.parts(label) for label in labels]
    for i in range(len(labels) - 1):
        if labels[i + 1] != "drop":
            continue
        if rng.random() < style.fill_chance:
            parts[i]["fill_beats"] = float(rng.choice((1, 2, 2, 4)))
        if rng.random() < style.gap_chance:
            parts[i]["gap_beats"] = float(rng.choice((1, 2, 4)))
            parts[i]["gap_filtered"] = float(rng.random() < 0.4)
    return parts


def _choose_labels(rng: np.random.Generator, family: str) -> list[str]:
    labels = ["intro", "buildup", "drop"]
    n_drops = 3 if rng.random() < (0.2 if family == "extended" else 0.35) else 2
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


class _TrackStyle:
    """What one track of the ``pickup`` or ``extended`` family does with each label, drawn
    once per track so that the same label sounds differently across tracks."""

    def __init__(self, rng: np.random.Generator, family: str) -> None:
        self.rng = rng
        self.family = family
        r = rng.random
        extended = family == "extended"
        self.drums_only_ends = r() < (0.8 if extended else 0.3)
        self.intro_pad = r() < 0.5
        self.breakdown_drums = 0.0 if extended else float(rng.choice((0.0, 0.6, 1.0)))
        self.halftime_chance = 0.45 if extended else 0.1
        self.lead_in_drop = r() < 0.7
        self.pad_in_drop = r() < 0.4
        self.fill_chance = 0.5 if extended else 0.75
        self.kickless_intro = 0.1 if extended else 0.25
        self.gap_chance = 0.25 if extended else 0.5

    def parts(self, label: str) -> Parts:
        r = self.rng.random
        if label in ("intro", "outro"):
            # Some intros start without the kick: hats and percussion, or a pad, alone.
            kick = 0.0 if label == "intro" and r() < self.kickless_intro else 1.0
            parts = {"kick": kick, "hat": 0.7 + 0.3 * r(), "clap": 0.6 if r() < 0.5 else 0.0}
            if r() < 0.4:
                parts["open_hat"] = 0.6
            if label == "intro" and r() < 0.2:
                parts["sweep"] = 1.0
            if not self.drums_only_ends:
                parts["bass"] = 0.5 if r() < 0.5 else 0.0
                parts["pad"] = 0.6 if self.intro_pad and label == "intro" else 0.0
                parts["lead"] = 0.4 if r() < 0.25 else 0.0
            return parts
        if label == "buildup":
            return {
                "kick": float(self.rng.choice([1.0, 0.0, 0.5])),
                "hat": 0.8,
                "clap": 0.5 if r() < 0.7 else 0.0,
                "bass": 0.5 if r() < 0.4 else 0.0,
                "lead": 0.6 if r() < 0.6 else 0.0,
                "pad": 0.6 if r() < 0.5 else 0.0,
                "riser": 1.0 if r() < 0.85 else 0.0,
                "roll": 1.0 if r() < 0.75 else 0.0,
                "kick_roll": float(r() < 0.3),
                "sweep": float(r() < 0.3),
            }
        if label == "drop":
            return {
                "kick": 1.0,
                "clap": 1.0,
                "hat": 1.0 if r() < 0.85 else 0.0,
                "open_hat": 1.0 if r() < 0.6 else 0.0,
                "bass": 1.0,
                "lead": 1.0 if self.lead_in_drop else 0.0,
                "pad": 0.5 if self.pad_in_drop else 0.0,
                "crash": 1.0 if r() < 0.7 else 0.0,
                "halftime": float(r() < self.halftime_chance),
            }
        # breakdown, breakbuild
        drums = self.breakdown_drums
        parts = {
            "pad": 1.0,
            "lead": 0.5 if r() < 0.6 else 0.0,
            "kick": drums if drums >= 1.0 else 0.0,
            "kick_lp": 0.35 if 0 < drums < 1.0 else 0.0,
            "hat": 0.5 * drums,
            "clap": 0.4 if drums and r() < 0.5 else 0.0,
        }
        if label == "breakbuild":
            parts.update({"riser": 0.7, "roll": 0.6 if r() < 0.6 else 0.0})
        return parts


def _template_parts(rng: np.random.Generator, label: str) -> Parts:
    """The first generator's levels and chances."""
    r = rng.random
    if label == "intro":
        return {
            "kick": 1.0 if r() < 0.85 else 0.0,
            "hat": 0.7,
            "clap": 0.6 if r() < 0.3 else 0.0,
            "bass": 0.5 if r() < 0.4 else 0.0,
            "pad": 0.6 if r() < 0.4 else 0.0,
        }
    if label == "buildup":
        kick = float(rng.choice([1.0, 0.0, 0.5]))  # 0.5: kick in the first half only
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
    return {
        "kick": 1.0,
        "hat": 0.8,
        "clap": 0.6 if r() < 0.5 else 0.0,
        "bass": 0.5 if r() < 0.5 else 0.0,
        "pad": 0.4 if r() < 0.3 else 0.0,
    }
