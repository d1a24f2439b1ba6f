"""The annotation schema: one YAML file per track, in our form or the spec project's.

```yaml
audio:
  file: track_000.wav        # relative to this YAML file's folder (or found in an audio folder)
  duration: 84.2             # seconds (at most a day)
  bpm: 128.0                 # 20..400
  downbeat: 1.37             # time in seconds of the first downbeat (bar 1, beat 1)
  time_signature: 4/4        # 3/4 too: bars (and the downbeat targets) of 3 beats
  key: F minor               # optional
  music_end: 82.0            # optional: where the music stops (silence after it has no beats)
structure:                   # each entry starts a section; it lasts until the next one starts
  - {bar: 1, label: intro, time: 1.37}
  - {bar: 9, label: buildup, time: 16.37, confidence: 0.9}   # confidence is optional, 0..1
  - ...
energy:                      # optional: loudness of three bands, each value in 0..1
  unit: section              # "section": one value per structure entry, in the same order
                             # "bar": one value per bar, bar 1 starting at audio.downbeat
  low: [0.4, 0.3, 1.0, ...]  # kick and bass
  mid: [0.2, 0.5, 0.9, ...]  # leads, pads, chords
  high: [0.3, 0.7, 0.8, ...] # hats, noise, risers
  overall: 0.7               # optional, 0..1
  at_boundaries:             # optional: energy change where structure entry N starts, -1..1
    - {boundary: 1, delta: 0.25}
metadata:
  tier: 1                    # 1: checked by hand or exact (synthetic), 2: corrected, 3: automatic
  confidence: 1.0
  source: synthetic          # free text: synthetic, manual, rekordbox export, ...
  # optional: created, modified (timestamps), verified_by, notes, flags (a list),
  # validation {beat_grid_valid, cue_points_snapped, min_section_length}, and any other key
```

Within a track a value holds from its start until the next one starts; the last holds until the
end of the track (or ``audio.music_end``), and frames before the first start have none (label
``unlabeled``, energy 0). Beats run from bar 1 (``audio.downbeat``) to the music's end.

A label outside our vocabulary is mapped by the dataset's table (:mod:`edm.data.label_map`:
``bridge`` is read as ``breakdown``); one that no table maps is ``unknown``, which training
ignores. The label as written stays in ``source_label``.

The spec project's annotator writes the same information slightly differently (a list time
signature, energy ``by_section``): :mod:`edm.data.annotator_schema` describes that form. Each
file's form is detected when it is read; both give one :class:`Annotation`, and
:func:`annotation_to_yaml` writes either (``schema="edm"`` or ``"annotator"``).

Loading checks the schema field by field and raises :class:`~edm.errors.AnnotationError` naming
the file and the field (``structure[2].label``), so one line is enough to fix the file. Hostile
documents (huge integers, deep nesting, non-finite numbers) fail the same way
(:mod:`edm.data.yaml_io`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edm.atomic import write_text_atomically
from edm.data.annotator_schema import SCHEMAS, from_annotator, is_annotator_form, to_annotator
from edm.data.label_map import UNKNOWN_LABEL, map_label, table_for
from edm.data.yaml_io import (
    DOCUMENT,
    FlowList,
    FlowMapping,
    dump_yaml,
    load_yaml,
    validation_problem,
)
from edm.errors import AnnotationError
from edm.vocabulary import ENERGY_BANDS, LABELS, Label

logger = logging.getLogger(__name__)

EnergyUnit = Literal["section", "bar"]
Schema = Literal["edm", "annotator"]

MAX_DURATION_SECONDS = 24 * 3600.0
"""Longer than any mix; a larger value is a typo (or hostile) and would allocate huge grids."""
MAX_BAR = 100_000

_TIME_SIGNATURE = re.compile(r"^(\d{1,2})/(1|2|4|8|16)$")


class _Strict(BaseModel):
    # A misspelt field ("bmp") must fail loudly, not be dropped; .inf and .nan are no values.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AudioInfo(_Strict):
    file: str = Field(min_length=1)
    duration: float = Field(gt=0.0, le=MAX_DURATION_SECONDS)
    bpm: float = Field(ge=20.0, le=400.0)
    downbeat: float = Field(ge=0.0)
    time_signature: str = "4/4"
    key: str | None = None
    music_end: float | None = Field(default=None, gt=0.0, le=MAX_DURATION_SECONDS)

    @field_validator("time_signature")
    @classmethod
    def _check_time_signature(cls, value: str) -> str:
        match = _TIME_SIGNATURE.match(value)
        if not match or int(match.group(1)) == 0:
            raise ValueError(f"'{value}' is not a time signature like 4/4")
        return value

    @property
    def beats_per_bar(self) -> int:
        return int(self.time_signature.split("/")[0])

    @property
    def music_stop(self) -> float:
        """Where the music ends: ``music_end`` when given, else the track's end."""
        return self.duration if self.music_end is None else min(self.music_end, self.duration)

    @property
    def beat_duration(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_duration(self) -> float:
        return self.beats_per_bar * self.beat_duration


class StructureEntry(_Strict):
    """One ``structure:`` entry: the section that starts at ``bar`` (and ``time``)."""

    bar: int = Field(ge=1, le=MAX_BAR)
    label: Literal[Label, "unknown"]  # unknown: outside every mapping, ignored in training
    time: float = Field(ge=0.0)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    source_label: str | None = None  # the label as written, when it was mapped or unknown


class BoundaryChange(_Strict):
    """How much the energy changes where structure entry ``boundary`` (0-based) starts."""

    boundary: int = Field(ge=0)
    delta: float = Field(ge=-1.0, le=1.0)


class Energy(_Strict):
    unit: EnergyUnit = "section"
    low: list[float] = Field(min_length=1)
    mid: list[float] = Field(min_length=1)
    high: list[float] = Field(min_length=1)
    overall: float | None = Field(default=None, ge=0.0, le=1.0)
    at_boundaries: list[BoundaryChange] | None = None

    @field_validator("low", "mid", "high")
    @classmethod
    def _check_range(cls, values: list[float]) -> list[float]:
        for i, value in enumerate(values):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"value {value} at index {i} is outside 0..1")
        return values

    def bands(self) -> tuple[list[float], list[float], list[float]]:
        return self.low, self.mid, self.high


class Validation(BaseModel):
    """Checks the spec project's tools record; edm keeps them and does not act on them."""

    model_config = ConfigDict(extra="allow", frozen=True)

    beat_grid_valid: bool | None = None
    cue_points_snapped: bool | None = None
    min_section_length: bool | None = None


class Metadata(BaseModel):
    # Free-form extras (annotator, model) are welcome here.
    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)

    tier: int = Field(ge=1, le=3)
    confidence: float = Field(ge=0.0, le=1.0)
    source: str = Field(min_length=1)
    created: datetime | None = None
    modified: datetime | None = None
    verified_by: str | None = None
    notes: str | None = None
    flags: list[str] | None = None
    validation: Validation | None = None


class Annotation(_Strict):
    audio: AudioInfo
    structure: list[StructureEntry]
    energy: Energy | None = None
    metadata: Metadata

    def problems(self) -> list[tuple[str, str]]:
        """Consistency problems the field types cannot express, as (field, problem)."""
        found: list[tuple[str, str]] = []
        duration = self.audio.duration
        if self.audio.downbeat >= duration:
            found.append(
                ("audio.downbeat", f"{self.audio.downbeat} is not before the end ({duration} s)")
            )
        music_end = self.audio.music_end
        if music_end is not None and not self.audio.downbeat < music_end <= duration:
            found.append(
                (
                    "audio.music_end",
                    f"{music_end} is not after the downbeat ({self.audio.downbeat} s) and "
                    f"within the track ({duration} s)",
                )
            )
        previous: StructureEntry | None = None
        for i, section in enumerate(self.structure):
            if section.time >= duration:
                found.append(
                    (f"structure[{i}].time", f"{section.time} is not before the end ({duration} s)")
                )
            if previous is not None and section.time <= previous.time:
                found.append(
                    (f"structure[{i}].time", f"{section.time} does not come after {previous.time}")
                )
            if previous is not None and section.bar <= previous.bar:
                found.append(
                    (f"structure[{i}].bar", f"{section.bar} does not come after {previous.bar}")
                )
            previous = section
        if self.energy is not None:
            lengths = {
                band: len(values)
                for band, values in zip(ENERGY_BANDS, self.energy.bands(), strict=True)
            }
            if len(set(lengths.values())) > 1:
                found.append(("energy", f"bands have different lengths {lengths}"))
            elif self.energy.unit == "section" and lengths["low"] != len(self.structure):
                found.append(
                    (
                        "energy.low",
                        f"{lengths['low']} values for {len(self.structure)} sections "
                        "(unit: section wants one per structure entry)",
                    )
                )
            for i, change in enumerate(self.energy.at_boundaries or ()):
                if change.boundary >= len(self.structure):
                    found.append(
                        (
                            f"energy.at_boundaries[{i}].boundary",
                            f"{change.boundary} is not a structure index "
                            f"(0..{len(self.structure) - 1})",
                        )
                    )
        return found

    def audio_path(self, annotation_path: Path) -> Path:
        """Where the audio file is when it lies beside the annotation (``audio.file`` relative
        to the annotation's folder, or absolute); :mod:`edm.data.audio_paths` looks further."""
        return annotation_path.parent / self.audio.file


def parse_annotation(
    data: Any,
    path: Path | str,
    warnings: list[str] | None = None,
    label_map: dict[str, str | None] | None = None,
) -> Annotation:
    """Validate already-parsed YAML data in either form; ``path`` only names the file in errors.

    Labels outside our vocabulary go through ``label_map`` (default: the table of ``path``'s
    dataset, :func:`edm.data.label_map.table_for`). What was read but changed (a mapped or an
    unknown label) is appended to ``warnings`` as one line, and logged.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise AnnotationError(path, DOCUMENT, f"expected a mapping with 'audio', got {kind}")
    notes: list[str] = []
    table = label_map if label_map is not None else table_for(path)
    if is_annotator_form(data):
        data, notes = from_annotator(data, path, table)
    else:
        data = _mapped_labels(data, table)
    try:
        annotation = Annotation.model_validate(data)
    except ValidationError as exc:
        raise AnnotationError(path, *validation_problem(exc, LABELS)) from None
    problems = annotation.problems()
    if problems:
        field, problem = problems[0]
        raise AnnotationError(path, field, problem)
    for note in notes:
        logger.info("%s: %s", path, note)
    if warnings is not None:
        warnings.extend(notes)
    return annotation


def _mapped_labels(data: dict[str, Any], table: dict[str, str | None]) -> dict[str, Any]:
    """Our form: a label the table maps is read as ours (the written one kept); any other label
    is left for the schema to accept or refuse."""
    structure = data.get("structure")
    if not isinstance(structure, list):
        return data
    entries = []
    for entry in structure:
        label = entry.get("label") if isinstance(entry, dict) else None
        if isinstance(label, str) and label not in LABELS and label != UNKNOWN_LABEL:
            ours = map_label(label, table)
            if ours != UNKNOWN_LABEL:
                entry = {"source_label": label, **entry, "label": ours}
        entries.append(entry)
    return {**data, "structure": entries}


def load_annotation(path: Path | str, warnings: list[str] | None = None) -> Annotation:
    """Read and validate one annotation file of either form (``yaml.safe_load`` only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotationError(path, DOCUMENT, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(path, DOCUMENT, f"cannot be read: {exc}") from None
    return parse_annotation(load_yaml(text, path), path, warnings)


def annotation_to_yaml(
    annotation: Annotation, path: Path | str | None = None, *, schema: Schema = "edm"
) -> str:
    """The YAML text of ``annotation`` in our form or the annotator's, as
    :func:`save_annotation` writes it.

    An inconsistent annotation raises :class:`~edm.errors.AnnotationError` naming ``path``, the
    file it was meant for, or else the annotation of its audio file.
    """
    if schema not in SCHEMAS:
        raise ValueError(f"schema must be one of {', '.join(SCHEMAS)}, got {schema!r}")
    problems = annotation.problems()
    if problems:
        where = path if path is not None else f"annotation of {annotation.audio.file}"
        raise AnnotationError(where, *problems[0])
    # Python mode keeps timestamps as timestamps (YAML reads them back as datetimes).
    data = annotation.model_dump(mode="python", exclude_none=True)
    if schema == "annotator":
        return dump_yaml(to_annotator(data))
    data["structure"] = [FlowMapping(entry) for entry in data["structure"]]
    if "energy" in data:
        energy = data["energy"]
        data["energy"] = {k: FlowList(v) if k in ENERGY_BANDS else v for k, v in energy.items()}
        if "at_boundaries" in energy:
            data["energy"]["at_boundaries"] = [FlowMapping(c) for c in energy["at_boundaries"]]
    metadata = data["metadata"]
    if isinstance(metadata.get("flags"), list):
        metadata["flags"] = FlowList(metadata["flags"])
    return dump_yaml(data)


def save_annotation(annotation: Annotation, path: Path | str, *, schema: Schema = "edm") -> None:
    """Write ``annotation`` as YAML that :func:`load_annotation` reads back unchanged.

    The file is replaced atomically so a reader never sees half of it.
    """
    path = Path(path)
    write_text_atomically(path, annotation_to_yaml(annotation, path, schema=schema))
