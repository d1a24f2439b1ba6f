"""Families of what the generator can make: sound designs and arrangement styles.

A track draws one sound family and one arrangement family from its random generator; both are
recorded in its annotation (``metadata.sound_family``, ``metadata.arrangement_family``), so that
an evaluation can hold one family out of training and score the model on it.

Sound families (each has several designs per instrument, drawn per track):

- ``classic``: the generator's first sounds: pitch-swept sine kick, band-passed noise claps,
  high-passed noise hats, saw/square/sine bass and lead through a fixed low-pass.
- ``analog``: drum-machine-like: kicks with a pitch envelope and a click or a long boom,
  noise-plus-tone snares or claps, square-metallic hats, saw/supersaw/FM basses with a filter
  envelope, detuned pads, rims or toms, noise-sweep or pitch risers.
- ``sampled``: sample-library-like one-shots made procedurally: layered kicks (sub, transient,
  saturation) or soft round ones, claps of several noise bursts (layered on a snare or not),
  shakers, rims or toms, plucks and chord stabs, deep sidechain pumping, vinyl crackle.

Every track of every family also gets its own mix and master (:mod:`~edm.synth.mix`).

Arrangement families:

- ``template``: the generator's first form: intro, buildup, drop, breakdown, …, outro in phrases
  of 4 and 8 bars, the track starting on its first downbeat.
- ``pickup``: drum fills of 1 to 3 beats before the first downbeat and before drops, drops with
  or without a gap (a silent or filtered beat or bar) before them, breakdowns with drums,
  kick rolls and filter sweeps in buildups, intros with or without kick or pads, drops with or
  without a lead.
- ``extended``: phrases of 16 and 32 bars, long drum-only intros and outros, half-time drops,
  breakdowns without drums (and, less often, the pickup family's fills, rolls and sweeps).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from edm.errors import ConfigError

SOUND_FAMILIES: tuple[str, ...] = ("classic", "analog", "sampled")
ARRANGEMENT_FAMILIES: tuple[str, ...] = ("template", "pickup", "extended")


def checked_families(kind: str, names: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple without repeats, or a ConfigError naming the unknown one and the
    known ones; ``kind`` is ``sound`` or ``arrangement``."""
    chosen: list[str] = []
    for name in names:
        if name not in known:
            raise ConfigError(
                f"unknown {kind} family {name!r}: known {kind} families are {', '.join(known)}"
            )
        if name not in chosen:
            chosen.append(name)
    if not chosen:
        raise ConfigError(f"no {kind} family chosen: known {kind} families are {', '.join(known)}")
    return tuple(chosen)


def parse_family_list(kind: str, text: str, known: Sequence[str]) -> tuple[str, ...]:
    """A comma-separated list from the command line, checked as :func:`checked_families`."""
    return checked_families(kind, [part.strip() for part in text.split(",") if part.strip()], known)


def draw_family(rng: np.random.Generator, families: Sequence[str]) -> str:
    """One of ``families``, uniformly; one draw from ``rng`` even when there is one family, so
    that a track's later draws do not depend on how many families were allowed."""
    return families[int(rng.integers(len(families)))]
