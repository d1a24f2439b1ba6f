"""What the page sends when a reviewer saves, applied to the document as it is on disk.

Only what the page edits changes: ``audio.bpm``, ``audio.downbeat``, ``structure`` and the
review fields of ``metadata``. Every other field (key, notes, validation, extra metadata keys,
energy per bar, fields the page never heard of) is written back as it was read, in the form the
file has (ours or the spec project's annotator's). Energy per section follows the sections: a
new section takes the values of the old section its start fell in, and a boundary's energy
change is kept while that boundary still starts a section.

A reviewed save is ``tier: 1``, ``source: manual``, ``verified_by`` the reviewer, without the
``needs_review`` flag; the model that proposed the sections stays in ``metadata.proposed_by``
(and the proposal itself in the file's history). A draft keeps the file's tier and source and
flags it ``in_progress``.
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from edm.data.yaml_io import FlowList, FlowMapping
from edm.vocabulary import Label

MAX_SECTIONS = 2000


class SectionEdit(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    time: float = Field(ge=0.0)
    label: Label
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class Edit(BaseModel):
    """The body of a save (``PUT /api/track``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    bpm: float = Field(ge=20.0, le=400.0)
    downbeat: float = Field(ge=0.0)
    structure: list[SectionEdit] = Field(min_length=1, max_length=MAX_SECTIONS)
    reviewed: bool = True


def apply_edit(document: dict[str, Any], edit: Edit, reviewer: str) -> dict[str, Any]:
    """A new document: ``document`` (as parsed from the file) with the edit applied."""
    new = copy.deepcopy(document)
    audio = new["audio"]
    audio["bpm"] = round(edit.bpm, 3)
    audio["downbeat"] = round(edit.downbeat, 3)
    beats = _beats_per_bar(audio.get("time_signature"))
    bar_seconds = beats * 60.0 / edit.bpm
    old_structure = [e for e in document.get("structure") or [] if isinstance(e, dict)]
    sections = sorted(edit.structure, key=lambda s: s.time)
    structure: list[dict[str, Any]] = []
    for section in sections:
        bar = max(1, 1 + round((section.time - edit.downbeat) / bar_seconds))
        if structure and bar <= structure[-1]["bar"]:
            bar = structure[-1]["bar"] + 1  # a section shorter than a bar gets its own
        entry: dict[str, Any] = {"bar": bar, "label": section.label, "time": round(section.time, 3)}
        if section.confidence is not None:
            entry["confidence"] = section.confidence
        structure.append(entry)
    new["structure"] = [FlowMapping(entry) for entry in structure]
    if isinstance(new.get("energy"), dict):
        new["energy"] = _follow_sections(new["energy"], old_structure, structure)
    new["metadata"] = _review_metadata(dict(new.get("metadata") or {}), edit.reviewed, reviewer)
    return new


def _beats_per_bar(time_signature: Any) -> int:
    if isinstance(time_signature, list) and time_signature and isinstance(time_signature[0], int):
        return time_signature[0]
    if isinstance(time_signature, str) and time_signature.split("/")[0].isdigit():
        return int(time_signature.split("/")[0])
    return 4


def _review_metadata(metadata: dict[str, Any], reviewed: bool, reviewer: str) -> dict[str, Any]:
    flags = [f for f in metadata.get("flags") or [] if f not in ("needs_review", "in_progress")]
    source = str(metadata.get("source", ""))
    if source.startswith("ml_model_") and "proposed_by" not in metadata:
        metadata["proposed_by"] = source
    metadata["modified"] = datetime.now(UTC).replace(microsecond=0)
    if reviewed:
        metadata.update(tier=1, confidence=1.0, source="manual", verified_by=reviewer)
    else:
        flags = ["needs_review", "in_progress", *flags]
    if flags:
        metadata["flags"] = FlowList(flags)
    else:
        metadata.pop("flags", None)
    return metadata


def _follow_sections(
    energy: dict[str, Any], old: list[dict[str, Any]], new: list[dict[str, Any]]
) -> dict[str, Any]:
    starts = [float(e.get("time", 0.0)) for e in old]
    # For each new section, the old section its start falls in (the first one before it all).
    source = [max(0, bisect_right(starts, entry["time"]) - 1) for entry in new]
    energy = dict(energy)
    if isinstance(energy.get("by_section"), list):  # the annotator's form
        by_index = {
            item.get("section"): item for item in energy["by_section"] if isinstance(item, dict)
        }
        energy["by_section"] = [
            FlowMapping({**by_index.get(old_index, {}), "section": i})
            for i, old_index in enumerate(source)
            if old_index in by_index
        ]
    elif energy.get("unit", "section") == "section":  # ours, one value per section
        for band in ("low", "mid", "high"):
            values = energy.get(band)
            if isinstance(values, list) and values:
                energy[band] = FlowList([values[min(i, len(values) - 1)] for i in source])
    if isinstance(energy.get("at_boundaries"), list):
        new_index = {entry["time"]: i for i, entry in enumerate(new)}
        kept = []
        for change in energy["at_boundaries"]:
            old_index = change.get("boundary") if isinstance(change, dict) else None
            if isinstance(old_index, int) and 0 <= old_index < len(old):
                where = new_index.get(round(float(old[old_index].get("time", -1)), 3))
                if where is not None:
                    kept.append(FlowMapping({**change, "boundary": where}))
        energy["at_boundaries"] = kept
    return energy


def styled(document: dict[str, Any]) -> dict[str, Any]:
    """The document with the short lists and mappings written on one line, as edm writes them."""
    document = dict(document)
    if isinstance(document.get("structure"), list):
        document["structure"] = [
            FlowMapping(e) if isinstance(e, dict) else e for e in document["structure"]
        ]
    audio = document.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("time_signature"), list):
        document["audio"] = {**audio, "time_signature": FlowList(audio["time_signature"])}
    energy = document.get("energy")
    if isinstance(energy, dict):
        energy = dict(energy)
        for key, value in energy.items():
            if key in ("low", "mid", "high") and isinstance(value, list):
                energy[key] = FlowList(value)
            elif key in ("by_section", "at_boundaries") and isinstance(value, list):
                energy[key] = [FlowMapping(v) if isinstance(v, dict) else v for v in value]
        document["energy"] = energy
    metadata = document.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("flags"), list):
        document["metadata"] = {**metadata, "flags": FlowList(metadata["flags"])}
    return document
