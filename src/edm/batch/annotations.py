"""``--format yaml``: each analysed track also as an annotation in the spec project's annotator
form (tier 3, ``needs_review``), so batch results go back into the annotation workflow.

    OUT/_annotations/v<VERSION>/<path of the track under SOURCE>.yaml

The leading underscore keeps Spark and pyarrow from reading the YAML as part of the dataset.
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from edm.batch.files import is_s3
from edm.data.annotations import save_annotation
from edm.data.annotator_schema import model_source
from edm.data.review_queue import BATCH_PROPOSALS
from edm.decoding.structure import Section, TrackStructure
from edm.errors import DataError


def annotation_target(out: Path, version: int, path: str, source_root: str | None) -> Path:
    """Where a track's YAML goes: its path under SOURCE when SOURCE is a folder, else its
    name with a short hash of the full path (two catalogues may both hold ``intro.wav``)."""
    folder = out / BATCH_PROPOSALS / f"v{version}"
    if source_root and path.startswith(source_root.rstrip("/") + "/"):
        relative = PurePosixPath(path[len(source_root.rstrip("/")) + 1 :])
        return folder / Path(*relative.parts).with_suffix(".yaml")
    name = PurePosixPath(path).name
    tag = hashlib.sha256(path.encode()).hexdigest()[:8]
    return folder / f"{PurePosixPath(name).stem}-{tag}.yaml"


def write_annotation(row: dict[str, Any], target: Path, model_name: str, version: int) -> None:
    """Write one result row as an annotator-form YAML file; DataError when the track has no
    beat grid to annotate (no beat found)."""
    structure = _structure(row)
    audio = row["path"]
    audio_file = audio if is_s3(audio) else os.path.relpath(audio, target.parent)
    now = datetime.now(UTC).replace(microsecond=0)
    annotation = structure.to_annotation(
        Path(audio_file).as_posix() if not is_s3(audio) else audio,
        source=model_source(model_name, version, "edm"),
        created=now,
        modified=now,
        notes=f"edm batch analyze with version {version} of '{model_name}'",
        flags=["needs_review"],
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    save_annotation(annotation, target, schema="annotator")


def _structure(row: dict[str, Any]) -> TrackStructure:
    if row.get("error") or row.get("duration") is None:
        raise DataError(f"{row['path']}: no result to annotate")
    beats_per_bar = int(str(row.get("time_signature") or "4/4").split("/")[0])
    sections = [
        Section(
            start=s["start"],
            end=s["end"],
            label=s["label"],
            confidence=s["confidence"] or 0.0,
            energy=(s["energy_low"] or 0.0, s["energy_mid"] or 0.0, s["energy_high"] or 0.0),
        )
        for s in row.get("sections") or []
    ]
    return TrackStructure(
        bpm=row.get("bpm"),
        beats=tuple(row.get("beats") or ()),
        downbeats=tuple(row.get("downbeats") or ()),
        sections=sections,
        duration=row["duration"],
        beats_per_bar=beats_per_bar,
    )
