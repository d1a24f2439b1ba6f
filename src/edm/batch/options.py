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
    retry_failed: bool = False  # analyse again the tracks whose result is an error
    min_bpm: float | None = None  # tempo hints for the tracks analysed in this run
    max_bpm: float | None = None
    python: str | None = None  # the executors' Python (default: see spark_session)
    python_env: str | None = None  # a packed environment shipped to the executors instead
    driver_host: str | None = None  # the address executors reach the driver at
    shared_paths: tuple[str, ...] = ()  # folders every executor mounts at the same path
    executor_wait_s: float = 120.0  # for the first task on a master of other hosts
    spark_conf: Mapping[str, str] = field(default_factory=dict)
    experiment: str = BATCH_EXPERIMENT


@dataclass
class BatchSummary:
    source: str
    out: str
    model_name: str
    model_version: int
    model_uri: str
    run_id: str | None  # None: nothing to do, so no run was logged
    tracks: int
    analysed: int
    failed: int  # this run's failures and the earlier ones kept (see edm.batch.plan)
    skipped: int
    stale: int  # skipped tracks whose result is of another version (--refresh redoes them)
    wall_s: float
    # Each failed track: path, error, and whether the failure is an earlier run's, kept.
    failures: list[dict[str, Any]] = field(default_factory=list)
    chunks_written: int = 0
    duplicates_removed: int = 0
    spark_start_s: float = 0.0
    analysis_s: float = 0.0
    annotations_written: int = 0

    @property
    def tracks_per_second(self) -> float:
        """Tracks analysed (or failed) in this run per second of analysis."""
        kept = sum(1 for failure in self.failures if failure["earlier"])
        processed = self.analysed + self.failed - kept
        return processed / self.analysis_s if self.analysis_s > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tracks_per_second": round(self.tracks_per_second, 4)}
