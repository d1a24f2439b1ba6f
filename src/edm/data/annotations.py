"""The annotation schema: one YAML file per track.

```yaml
audio:
  file: track_000.wav        # relative to this YAML file's folder
  duration: 84.2             # seconds
  bpm: 128.0
  downbeat: 1.37             # time in seconds of the first downbeat (bar 1, beat 1)
  time_signature: 4/4
  key: F minor               # optional
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
metadata:
  tier: 1                    # 1: checked by hand or exact (synthetic), 2: corrected, 3: automatic
  confidence: 1.0
  source: synthetic          # free text: synthetic, manual, rekordbox export, ...
```

Within a track a value holds from its start until the next one starts; the last holds until the
end of the track, and frames before the first start have none (label ``unlabeled``, energy 0).

Loading checks the schema field by field and raises :class:`~edm.errors.AnnotationError` naming
the file and the field (``structure[2].label``), so one line is enough to fix the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edm.atomic import write_text_atomically
from edm.errors import AnnotationError
from edm.vocabulary import ENERGY_BANDS, LABELS, Label

EnergyUnit = Literal["section", "bar"]

_TIME_SIGNATURE = re.compile(r"^(\d{1,2})/(1|2|4|8|16)$")
_DOCUMENT = "(document)"


class _Strict(BaseModel):
    # A misspelt field ("bmp") must fail loudly, not be dropped.
    model_config = ConfigDict(extra="forbid", frozen=True)


class AudioInfo(_Strict):
    file: str = Field(min_length=1)
    duration: float = Field(gt=0.0)
    bpm: float = Field(gt=0.0, le=400.0)
    downbeat: float = Field(ge=0.0)
    time_signature: str = "4/4"
    key: str | None = None

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
    def beat_duration(self) -> float:
        return 60.0 / self.bpm

    @property
    def bar_duration(self) -> float:
        return self.beats_per_bar * self.beat_duration


class StructureEntry(_Strict):
    """One ``structure:`` entry: the section that starts at ``bar`` (and ``time``)."""

    bar: int = Field(ge=1)
    label: Label
    time: float = Field(ge=0.0)
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)


class Energy(_Strict):
    unit: EnergyUnit = "section"
    low: list[float] = Field(min_length=1)
    mid: list[float] = Field(min_length=1)
    high: list[float] = Field(min_length=1)

    @field_validator("low", "mid", "high")
    @classmethod
    def _check_range(cls, values: list[float]) -> list[float]:
        for i, value in enumerate(values):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"value {value} at index {i} is outside 0..1")
        return values

    def bands(self) -> tuple[list[float], list[float], list[float]]:
        return self.low, self.mid, self.high


class Metadata(BaseModel):
    # Free-form extras (annotator, notes) are welcome here.
    model_config = ConfigDict(extra="allow", frozen=True)

    tier: int = Field(ge=1, le=3)
    confidence: float = Field(ge=0.0, le=1.0)
    source: str = Field(min_length=1)


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
        return found

    def audio_path(self, annotation_path: Path) -> Path:
        """Where the audio file is: ``audio.file`` is relative to the annotation's folder."""
        return annotation_path.parent / self.audio.file


def parse_annotation(data: Any, path: Path | str) -> Annotation:
    """Validate already-parsed YAML data; ``path`` only names the file in errors."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise AnnotationError(path, _DOCUMENT, f"expected a mapping with 'audio', got {kind}")
    try:
        annotation = Annotation.model_validate(data)
    except ValidationError as exc:
        field, problem = _first_problem(exc)
        extra = exc.error_count() - 1
        if extra:
            problem += f" (and {extra} more problem{'s' if extra > 1 else ''})"
        raise AnnotationError(path, field, problem) from None
    problems = annotation.problems()
    if problems:
        field, problem = problems[0]
        raise AnnotationError(path, field, problem)
    return annotation


def load_annotation(path: Path | str) -> Annotation:
    """Read and validate one annotation file (``yaml.safe_load`` only)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AnnotationError(path, _DOCUMENT, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(path, _DOCUMENT, f"cannot be read: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AnnotationError(path, _DOCUMENT, f"not valid YAML{at}: {problem}") from None
    return parse_annotation(data, path)


def annotation_to_yaml(annotation: Annotation, path: Path | str | None = None) -> str:
    """The YAML text of ``annotation``, as :func:`save_annotation` writes it.

    An inconsistent annotation raises :class:`~edm.errors.AnnotationError` naming ``path``, the
    file it was meant for, or else the annotation of its audio file.
    """
    problems = annotation.problems()
    if problems:
        where = path if path is not None else f"annotation of {annotation.audio.file}"
        raise AnnotationError(where, *problems[0])
    data = annotation.model_dump(mode="json", exclude_none=True)
    data["structure"] = [_FlowMapping(entry) for entry in data["structure"]]
    if "energy" in data:
        data["energy"] = {
            k: _FlowList(v) if isinstance(v, list) else v for k, v in data["energy"].items()
        }
    return yaml.dump(data, Dumper=_AnnotationDumper, sort_keys=False, allow_unicode=True, width=100)


def save_annotation(annotation: Annotation, path: Path | str) -> None:
    """Write ``annotation`` as YAML that :func:`load_annotation` reads back unchanged.

    The file is replaced atomically so a reader never sees half of it.
    """
    path = Path(path)
    write_text_atomically(path, annotation_to_yaml(annotation, path))


class _FlowMapping(dict):
    """A mapping written on one line: ``- {bar: 9, label: drop, time: 16.37}``."""


class _FlowList(list):
    """A list written on one line: ``low: [0.4, 0.3, 1.0]``."""


class _AnnotationDumper(yaml.SafeDumper):
    pass


_AnnotationDumper.add_representer(
    _FlowMapping,
    lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True),
)
_AnnotationDumper.add_representer(
    _FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def _first_problem(exc: ValidationError) -> tuple[str, str]:
    error = exc.errors(include_url=False)[0]
    field = _format_location(error["loc"]) or _DOCUMENT
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        return field, "is required"
    if kind == "extra_forbidden":
        return field, "is not a known field"
    if kind == "literal_error" and field.endswith("label"):
        return field, f"{value!r} is not one of {', '.join(LABELS)}"
    message = error["msg"].removeprefix("Value error, ")
    if kind in ("value_error", "literal_error"):
        return field, message
    return field, f"{value!r}: {message}" if _is_scalar(value) else message


def _format_location(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
