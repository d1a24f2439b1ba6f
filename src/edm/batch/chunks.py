"""The chunks of one batch job: each one Spark job whose rows land as one Parquet file.

Two chunks are in flight at a time, so the cores never wait for a chunk's last track; each is
written as soon as it is collected, so a killed driver loses at most the chunks in flight.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from edm.batch import results
from edm.batch.files import InputFile
from edm.batch.options import BatchOptions
from edm.batch.progress import ChunkProgress
from edm.batch.spark import default_parallelism
from edm.batch.spark_errors import SparkFailures
from edm.errors import DataError

_IN_FLIGHT = 2


@dataclass(frozen=True)
class JobTarget:
    """Where a job writes and what it runs: the version, as the executors find it."""

    out: Path
    model_location: str  # edm.batch.shipping: a folder, or an archive shipped with the job
    model_name: str
    version: int
    model_uri: str
    run_id: str
    shared_paths: tuple[str, ...] = ()


class ChunkRunner:
    """Runs the chunks of one job on ``session``; each chunk is its own Spark job group."""

    def __init__(
        self,
        options: BatchOptions,
        target: JobTarget,
        session: Any,
        failures: SparkFailures,
        log_metrics: Callable[..., None],
    ) -> None:
        self.options = options
        self.target = target
        self.session = session
        self.spark_failures = failures
        self._log_metrics = log_metrics
        self._lock = threading.Lock()
        self.cores = default_parallelism(session)
        self._done = 0
        self.failures: list[tuple[str, str]] = []
        self.skipped_paths: set[str] = set()
        self.threads = int(session.sparkContext.getConf().get("spark.task.cpus", "1"))

    def run(
        self,
        pending: list[tuple[InputFile, str | None]],
        progress: ChunkProgress,
        source_root: str | None,
    ) -> tuple[int, int]:
        """Chunks written and annotations written; ``failures`` and ``skipped_paths`` then
        hold what the executors failed on and skipped (content unchanged)."""
        size = self.options.chunk_size or 8 * self.cores
        chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
        root = source_root if self.options.write_yaml else None
        pool = ThreadPoolExecutor(max_workers=_IN_FLIGHT, thread_name_prefix="edm-chunk")
        futures = [
            pool.submit(self._chunk, index, chunk, progress, root)
            for index, chunk in enumerate(chunks)
        ]
        try:
            counts = [future.result() for future in futures]
        except BaseException:
            # Ctrl-C or a failed chunk: stop the chunks in flight now rather than let them run
            # to the end (what is written stays; a new run goes on from there).
            pool.shutdown(wait=False, cancel_futures=True)
            for index in range(len(chunks)):
                self.session.sparkContext.cancelJobGroup(self._group(index))
            raise
        pool.shutdown()
        return sum(c[0] for c in counts), sum(c[1] for c in counts)

    def _group(self, index: int) -> str:
        return f"edm-batch-{self.target.run_id}-{index}"

    def _chunk(
        self,
        index: int,
        chunk: list[tuple[InputFile, str | None]],
        progress: ChunkProgress,
        source_root: str | None,
    ) -> tuple[int, int]:
        from edm.batch.executor import TASK_DDL, analyse_batches

        target = self.target
        context = self.session.sparkContext
        group = self._group(index)
        context.setJobGroup(group, f"edm batch chunk {index}", interruptOnCancel=True)
        progress.watch(group, len(chunk))
        rows = [(item.path, done) for item, done in chunk]
        # One task per core: one per track cost ~80 ms of Spark and Arrow set-up per track
        # (40.0 s against 34.9 s for 64 tracks on local[2]); two chunks in flight absorb the
        # uneven ends of the tasks.
        tasks = min(len(rows), self.options.partitions or self.cores)
        frame = self.session.range(0, len(rows), 1, numPartitions=tasks)
        function = partial(
            analyse_batches,
            tracks=rows,
            model_location=target.model_location,
            threads=self.threads,
            shared_paths=target.shared_paths,
            bpm_range=(self.options.min_bpm, self.options.max_bpm),
        )
        with self.spark_failures.around(f"chunk {index} of the job failed"):
            task_rows = frame.mapInArrow(function, TASK_DDL).toArrow().to_pylist()
        mtimes = {item.path: item.mtime_ns for item, _ in chunk}
        rows_out = results.output_rows(
            task_rows, target.model_name, target.model_uri, target.run_id, mtimes
        )
        annotations = 0
        if self.options.write_yaml:
            annotations = self._annotations(rows_out, source_root)
        name = f"{target.run_id}-{index:05d}-{uuid.uuid4().hex[:6]}"
        written = results.write_part(target.out, target.version, rows_out, name)
        failed = [(r["path"], r["error"] or "failed") for r in task_rows if r["status"] == "error"]
        skipped = {r["path"] for r in task_rows if r["status"] == "skipped"}
        progress.finish(group, len(chunk), len(failed), len(skipped))
        # A sign of life per chunk: `edm doctor` tells a killed job's run (kill -9 leaves it
        # RUNNING) by how long it has been quiet.
        with self._lock:
            self.failures += failed
            self.skipped_paths |= skipped
            self._done += len(chunk)
            self._log_metrics({"tracks_processed": self._done}, step=index)
        return int(written is not None), annotations

    def _annotations(self, rows: list[dict[str, Any]], source_root: str | None) -> int:
        from edm.batch.annotations import annotation_target, write_annotation

        count = 0
        for row in rows:
            target = annotation_target(
                self.target.out, self.target.version, row["path"], source_root
            )
            try:
                write_annotation(row, target, self.target.model_name, self.target.version)
                count += 1
            except DataError:
                continue  # an error row or no beat found: nothing to annotate
        return count
