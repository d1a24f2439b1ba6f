"""The spec project's annotation form (its annotator's files), read into ours and written back.

Their files differ from ours (see :mod:`edm.data.annotations`) in a few places::

    metadata:
      tier: 1                         # 1 verified, 2 auto-cleaned, 3 auto-generated
      confidence: 0.95
      source: manual                  # rekordbox, msaf, manual, ml_model_<name>, ...
      created: 2025-03-01T10:30:00Z   # optional, like every field below
      modified: 2025-03-02T08:00:00Z
      verified_by: someone
      notes: corrected the intro
      flags: [needs_review]
      validation: {beat_grid_valid: true, cue_points_snapped: true, min_section_length: true}
    audio:
      file: /music/track.flac         # often in another folder than the YAML file
      duration: 242.2
      bpm: 128.0
      downbeat: 0.02
      time_signature: [4, 4]          # ours: "4/4"
      key: 8A                         # Camelot notation
    structure:
      - {bar: 1, label: intro, time: 0.02, confidence: 0.9}
    energy:                           # ours: per-band lists
      overall: 0.72
      by_section: [{section: 0, bass: 0.45, mid: 0.68, high: 0.82}]   # section: structure index
      at_boundaries: [{boundary: 1, delta: 0.25}]                     # delta in -1..1

Reading converts such a document into our form's data, which our schema then validates, so
both forms end in one :class:`~edm.data.annotations.Annotation`. Differences handled here:

- a label we do not know is mapped by the dataset's table (``bridge`` → ``breakdown``,
  :mod:`edm.data.label_map`) or read as ``unknown`` (ignored in training, never ``unlabeled``),
  the written label kept in ``source_label``; one warning for the file says so;
- ``energy.by_section`` becomes the low (their ``bass``), mid and high lists of
  ``unit: section``; one that does not cover every section leaves the track without energy
  (a warning says so), since the frames of the missing sections would have no value;
- ``overall`` and ``at_boundaries`` are kept as they are.

Writing does the reverse; energy per bar (``unit: bar``) is averaged over each section's bars.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edm.data.label_map import DEFAULT_LABEL_MAP, UNKNOWN_LABEL, map_label, normalise
from edm.data.yaml_io import FlowList, FlowMapping, validation_problem
from edm.errors import AnnotationError
from edm.vocabulary import LABELS

SCHEMAS = ("edm", "annotator")
"""The annotation forms: ours, and the spec project's annotator's."""

_DENOMINATORS = (1, 2, 4, 8, 16)
_THEIR_ENERGY_KEYS = ("overall", "by_section", "at_boundaries")
_OUR_BANDS = ("low", "mid", "high")
_THEIR_BANDS = ("bass", "mid", "high")
_METADATA_ORDER = (
    "tier", "confidence", "source", "created", "modified", "verified_by", "notes", "flags",
    "validation",
)  # fmt: skip


class _SectionEnergy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    section: int = Field(ge=0)
    bass: float = Field(ge=0.0, le=1.0)
    mid: float = Field(ge=0.0, le=1.0)
    high: float = Field(ge=0.0, le=1.0)


class _TheirEnergy(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    overall: float | None = Field(default=None, ge=0.0, le=1.0)
    by_section: list[_SectionEnergy] | None = None
    at_boundaries: list[dict[str, Any]] | None = None  # checked by our schema's Energy


def is_annotator_form(data: dict[str, Any]) -> bool:
    """Whether a parsed document is in the annotator's form (else ours).

    Its marks: a list time signature, or energy with ``by_section``, ``at_boundaries`` or
    ``overall`` but none of our ``unit`` and band lists. Documents with neither read the same
    either way, except that ours refuses an unknown label.
    """
    audio = data.get("audio")
    if isinstance(audio, dict) and isinstance(audio.get("time_signature"), list):
        return True
    energy = data.get("energy")
    return (
        isinstance(energy, dict)
        and any(key in energy for key in _THEIR_ENERGY_KEYS)
        and not any(key in energy for key in (*_OUR_BANDS, "unit"))
    )


def from_annotator(
    data: dict[str, Any], path: object, table: Mapping[str, str | None] | None = None
) -> tuple[dict[str, Any], list[str]]:
    """Our form's data for an annotator document, and the file's warnings (at most one line);
    ``table`` maps labels outside our vocabulary (default: :data:`DEFAULT_LABEL_MAP`)."""
    converted = dict(data)
    notes: list[str] = []
    if isinstance(data.get("audio"), dict):
        audio = dict(data["audio"])
        if isinstance(audio.get("time_signature"), list):
            audio["time_signature"] = _time_signature(audio["time_signature"], path)
        converted["audio"] = audio
    structure = data.get("structure")
    if isinstance(structure, list):
        converted["structure"], changed = _labels(
            structure, DEFAULT_LABEL_MAP if table is None else table
        )
        if changed:
            shown = ", ".join(
                f"{label!r} (structure[{i}]) read as {ours!r}" for i, label, ours in changed[:3]
            )
            more = f" and {len(changed) - 3} more" if len(changed) > 3 else ""
            ignored = sum(ours == UNKNOWN_LABEL for _, _, ours in changed)
            tail = f" ({ignored} unmapped: ignored in training)" if ignored else ""
            notes.append(f"section label {shown}{more}{tail}")
    energy = data.get("energy")
    if isinstance(energy, dict):
        n_sections = len(structure) if isinstance(structure, list) else 0
        converted["energy"], note = _energy(energy, n_sections, path)
        if note:
            notes.append(note)
        if converted["energy"] is None:
            del converted["energy"]
    return converted, ["; ".join(notes)] if notes else []


def to_annotator(data: dict[str, Any]) -> dict[str, Any]:
    """The annotator's form of our form's data (``Annotation.model_dump(exclude_none=True)``)."""
    metadata = dict(data["metadata"])
    ordered = {key: metadata.pop(key) for key in _METADATA_ORDER if key in metadata}
    if isinstance(ordered.get("flags"), list):
        ordered["flags"] = FlowList(ordered["flags"])
    if isinstance(ordered.get("validation"), dict):
        ordered["validation"] = FlowMapping(ordered["validation"])
    audio = dict(data["audio"])
    numerator, denominator = audio["time_signature"].split("/")
    audio["time_signature"] = FlowList([int(numerator), int(denominator)])
    document: dict[str, Any] = {
        "metadata": {**ordered, **metadata},
        "audio": audio,
        "structure": [FlowMapping(_their_entry(entry)) for entry in data["structure"]],
    }
    energy = data.get("energy")
    if energy is not None:
        document["energy"] = _their_energy(energy, data["structure"])
    return document


def _their_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """A structure entry with the label as it was written (a mapped label goes back)."""
    entry = dict(entry)
    source = entry.pop("source_label", None)
    if source is not None:
        entry["label"] = source
    return entry


def _time_signature(value: list[Any], path: object) -> str:
    field = "audio.time_signature"
    if len(value) != 2 or not all(type(part) is int for part in value):
        raise AnnotationError(path, field, f"{value!r} is not two whole numbers like [4, 4]")
    numerator, denominator = value
    if not 1 <= numerator <= 32 or denominator not in _DENOMINATORS:
        raise AnnotationError(path, field, f"{value!r} is not a time signature like [4, 4]")
    return f"{numerator}/{denominator}"


def _labels(
    structure: list[Any], table: Mapping[str, str | None]
) -> tuple[list[Any], list[tuple[int, str, str]]]:
    entries: list[Any] = []
    changed: list[tuple[int, str, str]] = []
    for i, entry in enumerate(structure):
        label = entry.get("label") if isinstance(entry, dict) else None
        if isinstance(label, str):
            ours = map_label(label, table)
            if normalise(label) not in LABELS:
                changed.append((i, label, ours))
                entry = {**entry, "source_label": label}
            entry = {**entry, "label": ours}
        entries.append(entry)
    return entries, changed


def _energy(
    energy: dict[str, Any], n_sections: int, path: object
) -> tuple[dict[str, Any] | None, str | None]:
    if any(key in energy for key in (*_OUR_BANDS, "unit")):
        return energy, None  # ours, inside a document marked as theirs elsewhere
    try:
        theirs = _TheirEnergy.model_validate(energy)
    except ValidationError as exc:
        field, problem = validation_problem(exc)
        raise AnnotationError(path, f"energy.{field}", problem) from None
    by_section = theirs.by_section or []
    seen: set[int] = set()
    for i, item in enumerate(by_section):
        where = f"energy.by_section[{i}].section"
        if item.section >= n_sections:
            raise AnnotationError(
                path, where, f"{item.section} is not a structure index (0..{n_sections - 1})"
            )
        if item.section in seen:
            raise AnnotationError(path, where, f"section {item.section} appears twice")
        seen.add(item.section)
    if not by_section:
        return None, None  # overall or at_boundaries alone: nothing to train on
    if len(seen) < n_sections:
        return None, (
            f"energy.by_section covers {len(seen)} of {n_sections} sections: energy not used"
        )
    ordered = sorted(by_section, key=lambda item: item.section)
    ours: dict[str, Any] = {"unit": "section"}
    for our_band, their_band in zip(_OUR_BANDS, _THEIR_BANDS, strict=True):
        ours[our_band] = [getattr(item, their_band) for item in ordered]
    if theirs.overall is not None:
        ours["overall"] = theirs.overall
    if theirs.at_boundaries is not None:
        ours["at_boundaries"] = theirs.at_boundaries
    return ours, None


def _their_energy(energy: dict[str, Any], structure: list[dict[str, Any]]) -> dict[str, Any]:
    bands = [energy[band] for band in _OUR_BANDS]
    if energy.get("unit", "section") == "bar":
        bands = [_section_means(values, structure) for values in bands]
    document: dict[str, Any] = {}
    if energy.get("overall") is not None:
        document["overall"] = energy["overall"]
    document["by_section"] = [
        FlowMapping(
            {
                "section": i,
                **{band: values[i] for band, values in zip(_THEIR_BANDS, bands, strict=True)},
            }
        )
        for i in range(len(structure))
    ]
    if energy.get("at_boundaries") is not None:
        document["at_boundaries"] = [FlowMapping(item) for item in energy["at_boundaries"]]
    return document


def _section_means(per_bar: list[float], structure: list[dict[str, Any]]) -> list[float]:
    """Mean of each section's bars (bar 1 is index 0); a section past the values gets 0."""
    means = []
    for i, entry in enumerate(structure):
        first = entry["bar"] - 1
        last = structure[i + 1]["bar"] - 1 if i + 1 < len(structure) else len(per_bar)
        values = per_bar[first:last]
        means.append(round(sum(values) / len(values), 6) if values else 0.0)
    return means


def model_source(model_name: str | None, version: int | None, fallback: str) -> str:
    """``metadata.source`` naming a model the annotator's tools accept: ``ml_model_<name>_v<N>``
    for a registry version, ``ml_model_<fallback>`` (a checkpoint's name) otherwise."""
    raw = f"{model_name}_v{version}" if model_name and version is not None else fallback
    return "ml_model_" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_") or "edm")
