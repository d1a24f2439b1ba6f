"""Which section boundaries a model misses or adds, and at what kind of transition.

The boundaries are the ones ``boundary_{p,r,f}`` score (``edm.evaluation.metrics``): section
starts inside the track, matched one to one within a window by ``mir_eval.util.match_events``,
as ``mir_eval.segment.detection`` matches them. Every reference boundary left unmatched is
*missed*, every decoded one left unmatched is *extra*. Each error says where it is, the nearest
boundary on the other side and how far, and the transition as ``"before → after"`` labels:

- a missed boundary: the annotated transition;
- an extra one: the decoded transition;

and, at that time, the annotated section and the decoded one (what the model called the music
where it missed a change, or which annotated section it split).

Summed over tracks by transition, they show what kind of change the model fails on (a
``buildup → drop`` missed, say, against a ``breakdown → breakdown`` split in two).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import mir_eval
import numpy as np

from edm.data.annotations import Annotation
from edm.decoding.structure import TrackStructure
from edm.vocabulary import LABELS, UNLABELED

ARROW = " → "
NO_SECTION = LABELS[UNLABELED]  # before the first section


def boundary_errors(
    reference: Annotation, estimate: TrackStructure, window: float
) -> list[dict[str, Any]]:
    """The missed and extra boundaries of one track at ``window`` seconds, in time order."""
    duration = reference.audio.duration
    annotated = _starts([(entry.time, str(entry.label)) for entry in reference.structure])
    decoded = _starts([(section.start, section.label) for section in estimate.sections])
    annotated = [(t, label) for t, label in annotated if 0.0 < t < duration]
    decoded = [(t, label) for t, label in decoded if 0.0 < t < duration]
    matched = mir_eval.util.match_events(
        np.array([t for t, _ in annotated]), np.array([t for t, _ in decoded]), window
    )
    hit_annotated = {i for i, _ in matched}
    hit_decoded = {j for _, j in matched}
    sections = {
        "reference_section": sorted((e.time, str(e.label)) for e in reference.structure),
        "decoded_section": sorted((s.start, s.label) for s in estimate.sections),
    }
    errors = [
        _error("missed", annotated[i], decoded, sections)
        for i in range(len(annotated))
        if i not in hit_annotated
    ] + [
        _error("extra", decoded[j], annotated, sections)
        for j in range(len(decoded))
        if j not in hit_decoded
    ]
    return sorted(errors, key=lambda error: error["time"])


def summarise(errors: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, int]]:
    """Errors counted by kind and transition, the most frequent first."""
    counts: dict[str, Counter[str]] = {"missed": Counter(), "extra": Counter()}
    for error in errors:
        counts[error["kind"]][error["transition"]] += 1
    return {kind: dict(counter.most_common()) for kind, counter in counts.items()}


def _starts(marks: Sequence[tuple[float, str]]) -> list[tuple[float, str]]:
    """(start, "previous → this" labels) per mark, in time order."""
    ordered = sorted(marks)
    previous = [NO_SECTION, *(label for _, label in ordered)][: len(ordered)]
    return [
        (t, f"{before}{ARROW}{label}") for (t, label), before in zip(ordered, previous, strict=True)
    ]


def _label_at(sections: Sequence[tuple[float, str]], time: float) -> str:
    """The label of the section holding ``time`` (``unlabeled`` before the first)."""
    label = NO_SECTION
    for start, name in sections:
        if start > time:
            break
        label = name
    return label


def _error(
    kind: str,
    boundary: tuple[float, str],
    other: Sequence[tuple[float, str]],
    sections: Mapping[str, Sequence[tuple[float, str]]],
) -> dict[str, Any]:
    time, transition = boundary
    nearest = min((t for t, _ in other), key=lambda t: abs(t - time), default=None)
    return {
        "kind": kind,
        "time": round(time, 3),
        "transition": transition,
        **{name: _label_at(starts, time) for name, starts in sections.items()},
        "nearest_other": None if nearest is None else round(nearest, 3),
        "offset": None if nearest is None else round(nearest - time, 3),
    }
