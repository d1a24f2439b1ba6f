"""Drift of a folder of audio against a reference, offline (``edm monitor drift``), and the
tracks behind it: those furthest into the reference's tails on the drifting features, for a
person to review (``drifted_tracks``; the CLI writes them to the folder's review queue, which
``edm annotate`` opens first)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edm.audio.io import audio_files
from edm.errors import DataError, EdmError
from edm.monitoring.descriptors import FEATURES, track_descriptors
from edm.monitoring.drift import MIN_SAMPLES, FeatureDrift, compare
from edm.monitoring.reference import DriftReference

# File → an Analysis of it (duck-typed: ``.structure`` and ``.audio``; monitoring does not
# import inference, which imports monitoring).
Analyze = Callable[[Path], Any]


@dataclass
class FolderDrift:
    folder: Path
    analysed: list[Path]
    failed: list[tuple[Path, str]]
    features: list[FeatureDrift]
    descriptors: list[dict[str, float]] = field(default_factory=list)

    @property
    def drifted(self) -> list[str]:
        return [f.feature for f in self.features if f.status == "drift"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "folder": str(self.folder),
            "analysed": len(self.analysed),
            "failed": [{"path": str(path), "error": error} for path, error in self.failed],
            "drifted": self.drifted,
            "features": [feature.to_dict() for feature in self.features],
        }


def folder_drift(
    folder: Path | str,
    analyze: Analyze,
    reference: DriftReference,
    *,
    min_samples: int = MIN_SAMPLES,
    on_file: Callable[[Path, int, int], None] | None = None,
) -> FolderDrift:
    """Analyse every audio file of ``folder`` and compare their descriptors with ``reference``.

    A file that cannot be analysed is recorded in ``failed`` and the others go on; DataError
    when none could be.
    """
    files = audio_files(folder)
    analysed: list[Path] = []
    failed: list[tuple[Path, str]] = []
    rows: list[dict[str, float]] = []
    for done, path in enumerate(files, start=1):
        try:
            analysis = analyze(path)
        except EdmError as exc:
            failed.append((path, str(exc)))
        else:
            rows.append(track_descriptors(analysis.structure, analysis.audio))
            analysed.append(path)
        if on_file is not None:
            on_file(path, done, len(files))
    if not rows:
        raise DataError(f"{folder}: no audio file could be analysed (first: {failed[0][1]})")
    recent = {name: [row[name] for row in rows] for name in FEATURES}
    names = [name for name in FEATURES if name in reference.features]
    features = compare(reference.features, recent, names, min_samples)
    return FolderDrift(Path(folder), analysed, failed, features, rows)


TAIL = 0.8  # a track is in the tails when its values sit beyond the 10th/90th percentiles


def drifted_tracks(
    result: FolderDrift, reference: DriftReference, tail: float = TAIL
) -> list[tuple[Path, float]]:
    """The analysed files whose drifting features fall in the reference's tails (the mean of
    ``|2q - 1|`` over those features, ``q`` the value's quantile in the reference, at least
    ``tail``), furthest first. Empty when nothing drifts."""
    from edm.monitoring.drift import tail_score

    names = result.drifted
    if not names:
        return []
    scored = []
    for path, row in zip(result.analysed, result.descriptors, strict=True):
        score = tail_score({name: row[name] for name in names}, reference.features)
        if score >= tail:
            scored.append((path, round(score, 4)))
    scored.sort(key=lambda item: (-item[1], str(item[0])))
    return scored
