"""Progress of a batch job, for the shell to show: tracks done of all, rate, time left."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class BatchProgress:
    processed: int  # analysed, failed or skipped, of ``total``
    total: int
    failed: int
    skipped: int
    elapsed_s: float  # since the first chunk was submitted (Spark's start-up not counted)

    @property
    def rate(self) -> float:
        """Tracks analysed (or failed) per second so far: skipped ones cost next to nothing
        and would promise a speed the rest will not have."""
        worked = self.processed - self.skipped
        return worked / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        if self.processed <= 0 or self.rate <= 0:
            return None
        return (self.total - self.processed) / self.rate


ProgressCallback = Callable[[BatchProgress], None]
HEARTBEAT_S = 3.0


class ChunkProgress:
    """Tracks done: whole chunks finished, plus each running chunk's share of finished tasks
    (Spark's status tracker, polled in a thread; one job group per chunk)."""

    def __init__(
        self, session: Any, total: int, on_progress: ProgressCallback | None, interval_s: float
    ) -> None:
        self._tracker = session.sparkContext.statusTracker()
        self._total = total
        self._on_progress = on_progress
        self._interval = interval_s
        self._lock = threading.Lock()
        self._reporting = threading.Lock()
        self._running: dict[str, int] = {}  # job group -> tracks in its chunk
        self.finished = self.failed = self.skipped = 0
        self._started = time.perf_counter()
        self._last: tuple[int, int, int] | None = None
        self._last_time = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="edm-batch-progress", daemon=True)

    def __enter__(self) -> ChunkProgress:
        self._started = time.perf_counter()
        if self._on_progress is not None:
            self._thread.start()
        return self

    def __exit__(self, exc_type: object, *exc_info: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if exc_type is None:
            self._report()  # the final count, unless it is already the last line shown

    def watch(self, group: str, tracks: int) -> None:
        with self._lock:
            self._running[group] = tracks

    def finish(self, group: str, tracks: int, failed: int, skipped: int) -> None:
        with self._lock:
            self._running.pop(group, None)
            self.finished += tracks
            self.failed += failed
            self.skipped += skipped
        self._report()

    @property
    def elapsed_s(self) -> float:
        return time.perf_counter() - self._started

    def _poll(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                # A sign of life at least every few seconds, even while no task has ended (a
                # small job's one chunk): the elapsed time and rate still move.
                self._report(force=time.perf_counter() - self._last_time > HEARTBEAT_S)
            except Exception:  # the context is stopping: progress is best effort
                return

    def _report(self, force: bool = False) -> None:
        if self._on_progress is None:
            return
        # One report at a time, counted and shown together: the poller's count must not be
        # shown after a newer one from a finished chunk.
        with self._reporting:
            self._report_now(force)

    def _report_now(self, force: bool) -> None:
        with self._lock:
            running = dict(self._running)
            processed = self.finished
            failed, skipped = self.failed, self.skipped
        for group, tracks in running.items():
            done, total = self._tasks(group)
            if total:
                processed += int(tracks * done / total)
        state = (processed, failed, skipped)
        if state == self._last and not force:
            return
        self._last = state
        self._last_time = time.perf_counter()
        self._on_progress(
            BatchProgress(
                processed, self._total, failed, skipped, time.perf_counter() - self._started
            )
        )

    def _tasks(self, group: str) -> tuple[int, int]:
        done = total = 0
        for job_id in self._tracker.getJobIdsForGroup(group):
            job = self._tracker.getJobInfo(job_id)
            for stage_id in job.stageIds if job else ():
                stage = self._tracker.getStageInfo(stage_id)
                if stage is not None:
                    done += stage.numCompletedTasks
                    total += stage.numTasks
        return done, total
