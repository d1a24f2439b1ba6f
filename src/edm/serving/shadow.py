"""Shadow traffic: Production requests replayed on Staging after their answer went out.

The work goes through a bounded queue served by one thread: when it is full the request is
dropped (and counted) instead of slowing Production. Each replay adds its agreement with
Production's answer to the metrics; every ``summary_interval`` the summary of the current
Staging version is logged onto its run. With several workers one of them (the holder of a
lock file in the metrics folder) logs the summary of all of them, read from the shared metrics.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.serving.metrics import multiprocess_dir, shadow_summary
from edm.serving.replay_queue import ReplayQueue
from edm.serving.routing import BEAT_TOLERANCE_S, BOUNDARY_TOLERANCE_S, f_measure

if TYPE_CHECKING:
    from edm.decoding.structure import TrackStructure
    from edm.registry import ModelRegistry
    from edm.serving.metrics import Metrics
    from edm.serving.slots import ModelSlots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShadowJob:
    path: Path
    production: TrackStructure


class ShadowRunner:
    def __init__(
        self,
        slots: ModelSlots,
        metrics: Metrics,
        registry: ModelRegistry,
        *,
        queue_size: int,
        summary_interval: float,
    ) -> None:
        self.slots = slots
        self.metrics = metrics
        self.registry = registry
        self.summary_interval = summary_interval
        self._queue: ReplayQueue[ShadowJob] = ReplayQueue(
            "edm-shadow", self._replay, lambda job: job.path, self._dropped, queue_size=queue_size
        )
        self._stop = threading.Event()
        self._summary_thread: threading.Thread | None = None
        self._logged: dict[int, int] = {}  # staging version -> shadow requests last logged
        self.last_summary: dict[str, Any] | None = None
        self._lock_file: Any = None

    def start(self) -> None:
        self._queue.start()
        self._summary_thread = threading.Thread(
            target=self._summarise, name="edm-shadow-summary", daemon=True
        )
        self._summary_thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._queue.stop()
        if self._summary_thread is not None:
            self._summary_thread.join(timeout=30)
        self.log_summary()
        if self._lock_file is not None:
            self._lock_file.close()

    def submit(self, path: Path, production: TrackStructure) -> bool:
        """Queue a replay; False (and the file removed) when the queue is full."""
        return self._queue.submit(ShadowJob(path, production))

    def _dropped(self) -> None:
        self.metrics.shadow_requests.labels(result="dropped").inc()

    # ------------------------------------------------------------------ replays

    def _replay(self, job: ShadowJob) -> None:
        staging = self.slots.model("staging")
        if staging is None:
            self.metrics.shadow_requests.labels(result="skipped").inc()
            return
        started = time.perf_counter()
        try:
            answer = staging.analyzer(job.path)
        except Exception as exc:
            self.metrics.shadow_requests.labels(result="failed").inc()
            log.warning("shadow replay on staging version %s failed: %s", staging.version, exc)
            return
        seconds = time.perf_counter() - started
        version = str(staging.version)
        self.metrics.inference_duration.labels(variant="staging").observe(seconds)
        self.metrics.shadow_staging_duration.labels(staging_version=version).observe(seconds)
        for histogram, value in agreement(job.production, answer, self.metrics).items():
            histogram.labels(staging_version=version).observe(value)
        self.metrics.shadow_requests.labels(result="done").inc()

    # ------------------------------------------------------------------ summaries

    def _summarise(self) -> None:
        while not self._stop.wait(self.summary_interval):
            self.log_summary()

    def log_summary(self) -> dict[str, Any] | None:
        """Log the current Staging version's shadow summary onto its run, when it grew."""
        staging = self.slots.model("staging")
        if staging is None or not self._is_summary_writer():
            return None
        summary = shadow_summary(self.metrics.collecting_registry(), staging.version)
        if summary.requests == 0 or summary.requests == self._logged.get(staging.version):
            return None
        values = summary.as_run_metrics()
        try:
            self.registry.log_live_metrics(staging.version, values)
        except Exception as exc:
            log.warning("logging the shadow summary of version %s failed: %s", staging.version, exc)
            return None
        self._logged[staging.version] = summary.requests
        self.last_summary = {"version": staging.version, "metrics": values, "at": time.time()}
        return self.last_summary

    def _is_summary_writer(self) -> bool:
        folder = multiprocess_dir()
        if folder is None:
            return True
        if self._lock_file is None:
            import fcntl

            handle = open(os.path.join(folder, "edm-shadow-summary.lock"), "a")  # noqa: SIM115
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            self._lock_file = handle  # held (and so the writer's role) until this worker ends
        return True


def agreement(production: TrackStructure, staging: TrackStructure, metrics: Metrics) -> dict:
    """Each agreement histogram with its value for one pair of answers."""
    values: dict = {
        metrics.shadow_beat_f: f_measure(production.beats, staging.beats, BEAT_TOLERANCE_S),
        metrics.shadow_boundary_f: f_measure(
            _boundaries(production), _boundaries(staging), BOUNDARY_TOLERANCE_S
        ),
    }
    if production.bpm is not None and staging.bpm is not None:
        values[metrics.shadow_bpm_difference] = abs(production.bpm - staging.bpm)
    return values


def _boundaries(structure: TrackStructure) -> list[float]:
    return [section.start for section in structure.sections[1:]]
