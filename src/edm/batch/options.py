"""What a batch job is asked to do (``BatchOptions``) and what it did (``BatchSummary``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edm.batch.spark import DEFAULT_MASTER

BATCH_EXPERIMENT = "edm-batch"


@dataclass(frozen=True)
class BatchOptions:
    source: str
    out: Path
    model: str | None = None  # a model reference (edm.registry.refs); None: Production
    master: str = DEFAULT_MASTER
    partitions: int | None = None  # Spark tasks per chunk; None: one per core
    chunk_size: int | None = None  # tracks per chunk; None: 8 per core
    write_yaml: bool = False
    refresh: bool = False
    python: str | None = None  # the executors' Python (default: see spark_session)
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    experiment: str = BATCH_EXPERIMENT


@dataclass
class BatchSummary:
    source: str
    out: str
    model_name: str
    model_version: int
    model_uri: str
    run_id: str
    tracks: int
    analysed: int
    failed: int
    skipped: int
    stale: int  # skipped tracks whose result is of another version (--refresh redoes them)
    chunks_written: int
    duplicates_removed: int
    spark_start_s: float
    analysis_s: float
    wall_s: float
    annotations_written: int = 0

    @property
    def tracks_per_second(self) -> float:
        processed = self.analysed + self.failed
        return processed / self.analysis_s if self.analysis_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tracks_per_second": round(self.tracks_per_second, 4)}
