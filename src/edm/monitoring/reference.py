"""The drift reference of a model version: the descriptors of the data it was trained on.

A JSON document::

    {"format": "edm-drift-reference", "version": 1, "created": "2026-11-27T05:00:00+00:00",
     "model": "version 3 of 'edm-structure-detector'", "data_dir": "data/train",
     "source": "training", "n_tracks": 24,
     "features": {"bpm": [128.0, ...], "loudness": [-11.2, ...], ...}}

``features`` keeps every track's value (NaN written as null), not a summary: PSI's bins and
the KS test need the sample itself. ``source`` says where the tracks came from:

- ``training``: the tracks the version was trained on, analysed by the version itself at the
  end of ``edm train`` (``edm.training.drift_reference``): what the version knows;
- ``traffic``: what the service recorded of recent Production requests, when a person decides
  that this music is the normal now (``edm monitor reference --from-traffic``, audited);
- ``evaluation``: an evaluation set, for a version registered without ``edm train``
  (``edm evaluate --log`` stores one only when the version has none).

It lives on the version's run (``monitoring/drift_reference.json``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edm.atomic import write_text_atomically
from edm.errors import DataError
from edm.monitoring.descriptors import FEATURES

FORMAT = "edm-drift-reference"
FORMAT_VERSION = 1
ARTIFACT_DIR = "monitoring"
FILE_NAME = "drift_reference.json"


@dataclass(frozen=True)
class DriftReference:
    features: dict[str, list[float]]  # per feature, one value per track (NaN: not defined)
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    model: str = ""
    data_dir: str = ""
    source: str = ""  # "training", "traffic" or "evaluation" ("" in older documents)

    @property
    def n_tracks(self) -> int:
        return max((len(values) for values in self.features.values()), default=0)

    @classmethod
    def from_tracks(
        cls,
        rows: Sequence[Mapping[str, float]],
        *,
        model: str = "",
        data_dir: str = "",
        source: str = "",
    ) -> DriftReference:
        """From per-track descriptors (``edm.monitoring.descriptors.track_descriptors``)."""
        names = [name for name in FEATURES if any(name in row for row in rows)]
        extra = sorted({name for row in rows for name in row} - set(names))
        return cls(
            features={
                name: [float(row.get(name, math.nan)) for row in rows] for name in names + extra
            },
            model=model,
            data_dir=data_dir,
            source=source,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created": self.created,
            "model": self.model,
            "data_dir": self.data_dir,
            "source": self.source,
            "n_tracks": self.n_tracks,
            "features": {
                name: [value if math.isfinite(value) else None for value in values]
                for name, values in self.features.items()
            },
        }

    def write(self, path: Path | str) -> Path:
        """Write the document atomically (all of it or nothing)."""
        path = Path(path)
        write_text_atomically(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path

    @classmethod
    def from_dict(cls, document: Any, where: str = "the drift reference") -> DriftReference:
        """Check and read a document; DataError naming ``where`` and the field when it is bad."""
        if not isinstance(document, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(document).__name__}")
        if document.get("format") != FORMAT:
            raise DataError(f"{where}: not an edm drift reference (format is not '{FORMAT}')")
        version = document.get("version")
        if version != FORMAT_VERSION:
            raise DataError(
                f"{where}: format version {version!r} is not supported (this edm reads "
                f"version {FORMAT_VERSION})"
            )
        features = document.get("features")
        if not isinstance(features, dict) or not features:
            raise DataError(f"{where}: 'features' must be a non-empty object of value lists")
        values: dict[str, list[float]] = {}
        for name, column in features.items():
            if not isinstance(column, list):
                raise DataError(f"{where}: features.{name} must be a list of numbers")
            try:
                values[str(name)] = [math.nan if v is None else _number(v) for v in column]
            except (TypeError, ValueError):
                raise DataError(
                    f"{where}: features.{name} holds a value that is not a number"
                ) from None
        return cls(
            features=values,
            created=str(document.get("created", "")),
            model=str(document.get("model", "")),
            data_dir=str(document.get("data_dir", "")),
            source=str(document.get("source", "")),
        )

    @classmethod
    def read(cls, path: Path | str) -> DriftReference:
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise DataError(f"{path}: no such drift reference file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise DataError(f"{path}: cannot read the drift reference ({exc})") from None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: the drift reference is not valid JSON ({exc})") from None
        except RecursionError:
            raise DataError(f"{path}: the drift reference is JSON nested too deep") from None
        return cls.from_dict(document, str(path))


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(value)
    return float(value)
