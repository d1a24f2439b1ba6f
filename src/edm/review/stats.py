"""Review metrics per version: how much reviewers changed each version's answers on real music.

``edm review stats [DIR...]`` aggregates :mod:`edm.review.changes` per proposing version;
``--log`` writes them as metrics on that version's run (``review_tracks``,
``review_boundary_f_3``, ``review_label_accuracy``, ...), where ``edm models info`` and
``compare`` show them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.review.changes import FolderChanges, ProposedBy, TrackChanges, folder_changes

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

METRIC_PREFIX = "review_"
SCORES = (
    "boundary_f_0.5",
    "boundary_f_3",
    "label_accuracy",
    "bpm_accuracy",
    "downbeat_offset",
    "edits",
    "seconds",
)


@dataclass
class VersionStats:
    proposed_by: ProposedBy
    tracks: list[TrackChanges] = field(default_factory=list)

    @property
    def means(self) -> dict[str, float]:
        result = {}
        for name in SCORES:
            values = [t.scores[name] for t in self.tracks if not math.isnan(t.scores[name])]
            result[name] = sum(values) / len(values) if values else math.nan
        return result

    def metrics(self) -> dict[str, float]:
        """As logged on the version's run: ``review_tracks`` and ``review_<score>``."""
        metrics = {f"{METRIC_PREFIX}tracks": float(len(self.tracks))}
        for name, value in self.means.items():
            if not math.isnan(value):
                metrics[METRIC_PREFIX + name] = round(value, 6)
        return metrics

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.proposed_by.model_name,
            "version": self.proposed_by.version,
            "tracks": len(self.tracks),
            "scores": {k: (None if math.isnan(v) else v) for k, v in self.means.items()},
            "per_track": [{"track": t.track, **t.scores} for t in self.tracks],
        }


@dataclass
class ReviewStats:
    versions: list[VersionStats]
    folders: list[FolderChanges]

    @property
    def reviewed_without_proposal(self) -> list[str]:
        return [name for f in self.folders for name in f.reviewed_without_proposal]

    @property
    def unreadable(self) -> list[tuple[str, str]]:
        return [item for f in self.folders for item in f.unreadable]


def review_stats(folders: Iterable[Path | str]) -> ReviewStats:
    """Every reviewed track of ``folders`` compared with its proposal, grouped by version
    (newest version first)."""
    found = [folder_changes(folder) for folder in folders]
    by_version: dict[ProposedBy, VersionStats] = {}
    for changes in found:
        for track in changes.tracks:
            by_version.setdefault(track.proposed_by, VersionStats(track.proposed_by))
            by_version[track.proposed_by].tracks.append(track)
    ordered = sorted(
        by_version.values(), key=lambda v: (v.proposed_by.model_name, -v.proposed_by.version)
    )
    return ReviewStats(ordered, found)


def log_review_stats(
    registry: ModelRegistry, stats: ReviewStats, folders: Iterable[Path | str]
) -> list[int]:
    """Log each version's review metrics on its run (versions of the registry's model only);
    returns the versions logged."""
    logged = []
    where = ",".join(str(Path(f)) for f in folders)
    for version in stats.versions:
        if version.proposed_by.model_name != registry.model_name:
            continue
        tags = {
            "edm.review.folders": where,
            "edm.review.time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        registry.link_metrics(version.proposed_by.version, version.metrics(), tags=tags)
        logged.append(version.proposed_by.version)
    return logged


def review_summary(metrics: Mapping[str, float]) -> str | None:
    """One line for ``edm models info``/``compare``: "212 reviewed tracks, boundary F@3s
    0.91, labels 0.88, BPM 0.95"; None for a version never reviewed."""
    tracks = metrics.get(f"{METRIC_PREFIX}tracks")
    if tracks is None:
        return None
    parts = [f"{int(tracks)} reviewed tracks"]
    for name, text in (
        ("boundary_f_3", "boundary F@3s"),
        ("label_accuracy", "labels"),
        ("bpm_accuracy", "BPM"),
        ("edits", "edits/track"),
    ):
        value = metrics.get(METRIC_PREFIX + name)
        if value is not None:
            parts.append(f"{text} {value:.2f}")
    return ", ".join(parts)
