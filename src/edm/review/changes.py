"""What a reviewer changed in a model's proposal: the final (reviewed) annotation against the
proposal it started from, scored as the model's answer against ground truth.

A file is reviewed when its tier is 1 or its source is ``manual``. Its proposal is the newest
earlier version of it whose source is ``ml_model_<name>_v<N>``: in ``DIR/.history/<track>/``
(``edm annotate`` copies every replaced version there), or in ``DIR/.proposals/<track>.yaml``
(a copy kept beside the folder by another tool). A reviewed file with no proposal is counted as
such and not scored.

Per track: ``boundary_f_0.5`` and ``boundary_f_3`` (section starts, mir_eval's detection as
``edm evaluate`` scores them), ``label_accuracy`` (frames after the first reviewed section whose
proposed label is the reviewed one), ``bpm_accuracy`` (within 4 %), ``downbeat_offset`` (seconds
between the two first downbeats), ``edits`` (sections added, removed, moved by more than 0.5 s
or relabelled, plus one each for a changed BPM and downbeat), and ``seconds`` spent when the
file says (``metadata.review_seconds``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from edm.data.annotations import Annotation, parse_annotation
from edm.data.yaml_io import load_yaml
from edm.errors import EdmError
from edm.evaluation.metrics import BPM_TOLERANCE, boundary_detection
from edm.vocabulary import LABELS

HISTORY_FOLDER = ".history"
PROPOSALS_FOLDER = ".proposals"
FRAME_RATE = 50.0
MOVE_TOLERANCE_SECONDS = 0.5
_SOURCE = re.compile(r"^ml_model_(?P<name>.+)_v(?P<version>\d+)$")


@dataclass(frozen=True)
class ProposedBy:
    model_name: str
    version: int

    @classmethod
    def parse(cls, source: str | None) -> ProposedBy | None:
        match = _SOURCE.match(source or "")
        if match is None:
            return None
        return cls(match["name"], int(match["version"]))

    def __str__(self) -> str:
        return f"{self.model_name} v{self.version}"


@dataclass(frozen=True)
class TrackChanges:
    track: str
    proposed_by: ProposedBy
    scores: dict[str, float]


@dataclass
class FolderChanges:
    tracks: list[TrackChanges]
    reviewed_without_proposal: list[str]
    unreadable: list[tuple[str, str]]


def is_reviewed(annotation: Annotation) -> bool:
    return annotation.metadata.tier == 1 or annotation.metadata.source == "manual"


def compare(final: Annotation, proposal: Annotation) -> dict[str, float]:
    """The proposal scored against the reviewed annotation (see the module text)."""
    duration = final.audio.duration
    ref_starts = [s.time for s in final.structure]
    est_starts = [s.time for s in proposal.structure]
    scores: dict[str, float] = {}
    for window in (0.5, 3.0):
        _, _, f = boundary_detection(ref_starts, est_starts, duration, window)
        scores[f"boundary_f_{window:g}"] = f
    scores["label_accuracy"] = _label_accuracy(final, proposal)
    bpm, proposed_bpm = final.audio.bpm, proposal.audio.bpm
    scores["bpm_accuracy"] = float(abs(proposed_bpm - bpm) <= BPM_TOLERANCE * bpm)
    scores["downbeat_offset"] = abs(final.audio.downbeat - proposal.audio.downbeat)
    scores["edits"] = float(_edits(final, proposal))
    seconds = (final.metadata.model_extra or {}).get("review_seconds")
    scores["seconds"] = float(seconds) if isinstance(seconds, int | float) else math.nan
    return scores


def _frame_labels(annotation: Annotation, n_frames: int) -> np.ndarray:
    labels = np.full(n_frames, -1, dtype=np.int64)
    starts = [round(s.time * FRAME_RATE) for s in annotation.structure]
    for i, section in enumerate(annotation.structure):
        end = starts[i + 1] if i + 1 < len(starts) else n_frames
        index = LABELS.index(section.label) if section.label in LABELS else -2
        labels[max(0, starts[i]) : max(0, end)] = index
    return labels


def _label_accuracy(final: Annotation, proposal: Annotation) -> float:
    n_frames = max(1, int(final.audio.duration * FRAME_RATE))
    reference = _frame_labels(final, n_frames)
    estimate = _frame_labels(proposal, n_frames)
    scored = reference >= 0
    if not scored.any():
        return math.nan
    return float(np.mean(estimate[scored] == reference[scored]))


def _edits(final: Annotation, proposal: Annotation) -> int:
    """Sections added, removed, moved or relabelled, and a changed BPM and downbeat."""
    remaining = list(proposal.structure)
    edits = 0
    for section in final.structure:
        near = [p for p in remaining if abs(p.time - section.time) <= MOVE_TOLERANCE_SECONDS]
        if near:
            match = min(near, key=lambda p: abs(p.time - section.time))
            remaining.remove(match)
            edits += match.label != section.label
        else:
            edits += 1  # added, or moved further than the tolerance (counted once)
    edits += len(remaining)  # removed
    edits += abs(final.audio.bpm - proposal.audio.bpm) > 1e-3
    edits += abs(final.audio.downbeat - proposal.audio.downbeat) > 1e-3
    return edits


def proposal_of(folder: Path, annotation_path: Path) -> Annotation | None:
    """The newest kept version of the file that a model proposed, or None."""
    relative = annotation_path.relative_to(folder)
    candidates = sorted((folder / HISTORY_FOLDER / relative).glob("*.yaml"), reverse=True)
    beside = folder / PROPOSALS_FOLDER / relative
    candidates += [beside] if beside.is_file() else []
    for path in candidates:
        try:
            annotation = parse_annotation(load_yaml(path.read_text(encoding="utf-8"), path), path)
        except (OSError, EdmError):
            continue
        drafted = "in_progress" in (annotation.metadata.flags or [])  # a reviewer's draft
        if ProposedBy.parse(annotation.metadata.source) is not None and not drafted:
            return annotation
    return None


def annotation_files(folder: Path) -> list[Path]:
    """The annotation files under ``folder``, sorted; hidden folders (``.history/``,
    ``.proposals/``) left out."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.suffix in (".yaml", ".yml")
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def folder_changes(folder: Path | str) -> FolderChanges:
    """Every reviewed file of ``folder`` (recursively, hidden folders left out) compared with
    the proposal it started from."""
    folder = Path(folder).resolve()
    found = FolderChanges([], [], [])
    for path in annotation_files(folder):
        name = path.relative_to(folder).as_posix()
        try:
            document: Any = load_yaml(path.read_text(encoding="utf-8"), path)
            final = parse_annotation(document, path)
        except (OSError, EdmError) as exc:
            found.unreadable.append((name, str(exc)))
            continue
        if not is_reviewed(final):
            continue
        proposal = proposal_of(folder, path)
        proposed_by = None if proposal is None else ProposedBy.parse(proposal.metadata.source)
        if proposal is None or proposed_by is None:
            found.reviewed_without_proposal.append(name)
            continue
        found.tracks.append(TrackChanges(name, proposed_by, compare(final, proposal)))
    return found
