"""What to review next: the tracks whose proposals the model is least sure of, and those furthest
from what it was trained and evaluated on, first.

Input is a folder of proposals (``edm batch --format yaml``'s output, or a folder that ``edm
analyze --schema annotator`` or ``edm annotate`` filled). Each track not reviewed yet gets:

- ``uncertainty`` = 1 - the proposal's confidence (``metadata.confidence``, the decoder's
  overall confidence);
- ``drift`` in 0..1: how far into the tails of the version's drift reference (the monitor's
  descriptors of its training tracks, recorded by ``edm train``) the proposal's output
  descriptors fall: BPM, number of sections and each label's share of the track. For each
  descriptor, ``|2q - 1|`` where ``q`` is the share of reference tracks below the value; the
  mean over descriptors. 0 without a reference.

Tracks are ordered by ``uncertainty + drift``, highest first; the list is written for ``edm
annotate`` (:mod:`edm.data.review_queue`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edm.data.annotations import Annotation, load_annotation
from edm.errors import EdmError
from edm.review.changes import annotation_files, is_reviewed
from edm.vocabulary import LABELS, UNLABELED

LABEL_SHARE_PREFIX = "label_share_"  # as edm.monitoring.descriptors names them
SECTION_LABELS = tuple(label for index, label in enumerate(LABELS) if index != UNLABELED)


@dataclass(frozen=True)
class QueueItem:
    track: str
    confidence: float
    drift: float
    source: str

    @property
    def priority(self) -> float:
        return (1.0 - self.confidence) + self.drift

    def to_dict(self) -> dict[str, Any]:
        return {
            "track": self.track,
            "priority": round(self.priority, 4),
            "confidence": round(self.confidence, 4),
            "drift": round(self.drift, 4),
            "source": self.source,
        }


def output_descriptors(annotation: Annotation) -> dict[str, float]:
    """The monitor's output descriptors, read from an annotation instead of a decoded track."""
    starts = [s.time for s in annotation.structure]
    ends = starts[1:] + [annotation.audio.duration]
    total = sum(max(0.0, e - s) for s, e in zip(starts, ends, strict=True))
    values = {"bpm": annotation.audio.bpm, "n_sections": float(len(starts))}
    for label in SECTION_LABELS:
        under = sum(
            max(0.0, e - s)
            for section, s, e in zip(annotation.structure, starts, ends, strict=True)
            if section.label == label
        )
        values[LABEL_SHARE_PREFIX + label] = under / total if total > 0 else math.nan
    return values


def drift_score(values: Mapping[str, float], reference: Mapping[str, Sequence[float]]) -> float:
    """Mean over descriptors of ``|2q - 1|``, ``q`` the value's quantile in the reference
    (``edm.monitoring.drift.tail_score``, which ``edm monitor drift`` uses too)."""
    from edm.monitoring.drift import tail_score

    return tail_score(values, reference)


def review_queue(
    folder: Path | str, reference: Mapping[str, Sequence[float]] | None = None
) -> tuple[list[QueueItem], list[tuple[str, str]]]:
    """The folder's tracks still to review, most worth it first, and the files not readable."""
    folder = Path(folder)
    items: list[QueueItem] = []
    unreadable: list[tuple[str, str]] = []
    for path in annotation_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            annotation = load_annotation(path)
        except EdmError as exc:
            unreadable.append((name, str(exc)))
            continue
        if is_reviewed(annotation):
            continue
        drift = drift_score(output_descriptors(annotation), reference) if reference else 0.0
        items.append(
            QueueItem(name, annotation.metadata.confidence, drift, annotation.metadata.source)
        )
    items.sort(key=lambda item: (-item.priority, item.track))
    return items, unreadable
