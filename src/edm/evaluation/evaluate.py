"""Score a model on a folder of annotated tracks: per-track metrics and their means."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.data.tracks import (
    FileWarning,
    LoadedDataset,
    SkippedFile,
    Track,
    TrackSelection,
    load_dataset,
)
from edm.decoding.structure import TrackStructure
from edm.errors import AudioError, DataError
from edm.evaluation.boundary_errors import boundary_errors, summarise
from edm.evaluation.metrics import BOUNDARY_WINDOWS, METRIC_NAMES, aggregate, score_track
from edm.monitoring.descriptors import track_descriptors

if TYPE_CHECKING:
    from edm.inference.pipeline import Analysis
    from edm.monitoring.reference import DriftReference

logger = logging.getLogger(__name__)

METRIC_PREFIX = "test_"
"""Aggregates are logged on the model version's run as ``test_<metric>`` (the promotion gate
reads them): ``test_beat_f``, ``test_boundary_f_0.5``, ..."""

# An Analysis (File2Structure.analyze) also gives the audio descriptors of the drift reference.
Analyzer = Callable[[Path], "TrackStructure | Analysis"]


@dataclass
class EvaluationReport:
    data_dir: Path
    model: str  # what was evaluated, for people: "version 3", "outputs/run/best.pt"
    # per track: "track", "bpm", "reference_bpm", the metrics, and "boundary_errors" (per
    # window: the missed and extra boundaries, edm.evaluation.boundary_errors)
    tracks: list[dict[str, Any]]
    aggregate: dict[str, float]
    skipped: list[SkippedFile] = field(default_factory=list)
    warnings: list[FileWarning] = field(default_factory=list)  # used, with a change (labels)
    descriptors: list[dict[str, float]] = field(default_factory=list)  # per track, for drift
    # the data, as the registry keys evaluations: the hash of exactly the files evaluated
    # (as training's dataset_hash), and each track's audio content hash → its name
    digest: str = ""
    track_hashes: dict[str, str] = field(default_factory=dict)

    def drift_reference(self) -> DriftReference:
        """The tracks' descriptors as the version's drift reference (edm.monitoring)."""
        from edm.monitoring.reference import DriftReference

        return DriftReference.from_tracks(
            self.descriptors, model=self.model, data_dir=str(self.data_dir), source="evaluation"
        )

    def logged_metrics(self) -> dict[str, float]:
        """The aggregates under their ``test_*`` names (NaN ones left out: MLflow refuses them)."""
        return {
            f"{METRIC_PREFIX}{name}": value
            for name, value in self.aggregate.items()
            if value == value  # not NaN
        }

    def boundary_error_summary(self) -> dict[str, dict[str, dict[str, int]]]:
        """Per window, the missed and extra boundaries of all tracks counted by transition."""
        return {
            name: summarise(e for row in self.tracks for e in row["boundary_errors"][name])
            for name in (f"{window:g}" for window in BOUNDARY_WINDOWS)
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "model": self.model,
            "n_tracks": len(self.tracks),
            "aggregate": self.aggregate,
            "boundary_errors": self.boundary_error_summary(),
            "tracks": self.tracks,
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in self.skipped],
            "warnings": [{"path": str(w.path), "message": w.message} for w in self.warnings],
        }


def evaluate_dataset(
    data_dir: Path | str,
    analyze: Analyzer,
    *,
    model: str = "",
    audio_dirs: Iterable[Path | str] = (),
    selection: TrackSelection | None = None,
    on_track: Callable[[Track, int, int], None] | None = None,
    heldout_only: bool = False,
) -> EvaluationReport:
    """Run ``analyze`` on every usable track of ``data_dir`` and score it.

    Tracks whose audio fails to decode are skipped and reported, like unusable annotations.
    ``audio_dirs`` and ``selection`` are :func:`~edm.data.tracks.load_dataset`'s.
    ``on_track(track, done, total)`` is called after each track. ``heldout_only``: only the
    tracks the folder's split file holds out (``edm data split``), when it has one.
    """
    data_dir = Path(data_dir)
    loaded = _load(data_dir, audio_dirs, selection, heldout_only)
    skipped = list(loaded.skipped)
    rows: list[dict[str, Any]] = []
    descriptors: list[dict[str, float]] = []
    for done, track in enumerate(loaded.tracks, start=1):
        try:
            result = analyze(track.audio_path)
        except AudioError as exc:
            skipped.append(SkippedFile(track.annotation_path, str(exc)))
            logger.warning("skipping %s: %s", track.name, exc)
            continue
        estimate = result if isinstance(result, TrackStructure) else result.structure
        descriptors.append(track_descriptors(estimate, getattr(result, "audio", None)))
        scores = score_track(track.annotation, estimate)
        rows.append(
            {
                "track": track.name,
                "reference_bpm": track.annotation.audio.bpm,
                "bpm": estimate.bpm,
                **scores,
                "boundary_errors": {
                    f"{window:g}": boundary_errors(track.annotation, estimate, window)
                    for window in BOUNDARY_WINDOWS
                },
            }
        )
        if on_track is not None:
            on_track(track, done, len(loaded.tracks))
    if not rows:
        raise DataError(f"{data_dir}: no track could be analysed (first: {skipped[0]})")
    from edm.data.track_hashes import track_hashes

    evaluated = {row["track"] for row in rows}
    return EvaluationReport(
        data_dir=data_dir,
        model=model,
        tracks=rows,
        aggregate=aggregate([{k: row[k] for k in METRIC_NAMES} for row in rows]),
        skipped=skipped,
        warnings=loaded.warnings,
        descriptors=descriptors,
        digest=loaded.files_hash(),
        track_hashes=track_hashes(t for t in loaded.tracks if t.name in evaluated),
    )


def dataset_digest(
    data_dir: Path | str,
    *,
    audio_dirs: Iterable[Path | str] = (),
    selection: TrackSelection | None = None,
    heldout_only: bool = False,
) -> str:
    """The digest an evaluation of ``data_dir`` is logged under (the files evaluated), known
    without running a model."""
    return _load(Path(data_dir), audio_dirs, selection, heldout_only).files_hash()


def _load(
    data_dir: Path,
    audio_dirs: Iterable[Path | str],
    selection: TrackSelection | None,
    heldout_only: bool,
) -> LoadedDataset:
    loaded = load_dataset(data_dir, audio_dirs=audio_dirs, selection=selection)
    if heldout_only:
        from edm.data.split import read_rule, split_tracks_by_content

        rule = read_rule(data_dir)
        if rule is not None:
            loaded.tracks = split_tracks_by_content(loaded.tracks, rule).heldout
    return loaded
