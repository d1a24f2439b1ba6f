"""Fitting a form into the requested track length: the real length of every track (lead-in,
sections and tail) lies within ``[min_seconds, max_seconds]``.

A form too long for the budget is shortened the way an editor would: first whole
breakdown-to-drop cycles or long phrases (halved, 32 → 16 → 8 → 4 bars), then shorter phrases
down to the shortest form (intro and buildup of 2 bars, a drop of 4, an outro of 1). A form too
short gets longer phrases (the shortest doubled, while that fits), then a longer outro, in whole
bars; what is left below a bar goes to the tail. Every
section still starts on a downbeat, so the annotation stays valid.
"""

from __future__ import annotations

import math

SHORTEST_BARS = {"intro": 2, "buildup": 2, "drop": 4, "breakdown": 2, "breakbuild": 2, "outro": 1}


def fit_bars(
    labels: list[str], bars: list[int], max_bars: int, min_bars: int, *, cut_cycles_first: bool
) -> tuple[list[str], list[int]]:
    """``labels`` and ``bars`` shortened to at most ``max_bars`` in total and lengthened (at the
    outro) to at least ``min_bars`` where ``max_bars`` allows."""
    labels, bars = list(labels), list(bars)
    if cut_cycles_first:
        while sum(bars) > max_bars and labels.count("drop") > 1:
            labels, bars = _without_last_cycle(labels, bars)
    while sum(bars) > max_bars and _halve_longest(labels, bars, floor=4):
        pass
    while sum(bars) > max_bars and labels.count("drop") > 1:
        labels, bars = _without_last_cycle(labels, bars)
    while sum(bars) > max_bars and _halve_longest(labels, bars, floor=0):
        pass
    fewest = min(min_bars, max_bars)
    while sum(bars) < fewest and _double_shortest(bars, room=max_bars - sum(bars)):
        pass
    if sum(bars) < fewest:
        bars[-1] += fewest - sum(bars)
    return labels, bars


def bar_budget(
    bar_seconds: float, lead_in: float, min_seconds: float, max_seconds: float, *, min_tail: float
) -> tuple[int, int]:
    """(fewest, most) bars for a track with this lead-in: the most leave room for the shortest
    tail; the fewest are those a tail of at most 1.5 s needs to reach ``min_seconds``."""
    most = math.floor((max_seconds - lead_in - min_tail) / bar_seconds + 1e-9)
    fewest = math.ceil((min_seconds - lead_in - 1.5) / bar_seconds - 1e-9)
    return max(fewest, 0), most


def _without_last_cycle(labels: list[str], bars: list[int]) -> tuple[list[str], list[int]]:
    """Without the last drop and what leads to it from the drop before (its breakdown, …)."""
    drops = [i for i, label in enumerate(labels) if label == "drop"]
    cut_from, cut_to = drops[-2] + 1, drops[-1] + 1
    return labels[:cut_from] + labels[cut_to:], bars[:cut_from] + bars[cut_to:]


def _halve_longest(labels: list[str], bars: list[int], *, floor: int) -> bool:
    """Halve the longest section that can be halved without going under ``floor`` or its
    label's shortest length; the last of equals first (outros before intros). False if none."""
    candidates = [
        i
        for i, (label, length) in enumerate(zip(labels, bars, strict=True))
        if length // 2 >= max(floor, SHORTEST_BARS[label])
    ]
    if not candidates:
        return False
    longest = max(candidates, key=lambda i: (bars[i], i))
    bars[longest] //= 2
    return True


def _double_shortest(bars: list[int], *, room: int) -> bool:
    """Double the shortest section (the first of equals) if that fits in ``room`` more bars."""
    shortest = min(range(len(bars)), key=lambda i: (bars[i], i))
    if bars[shortest] > room:
        return False
    bars[shortest] *= 2
    return True
