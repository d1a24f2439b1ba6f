"""Production's requests replayed on the previous Production version, for the rollback alerts.

A rollback is only worth it when the new version does worse than the one it replaced on the
same input: when the music coming in is hard (or the machine slow), both versions suffer and a
rollback changes nothing. So, while a previous version is known (``ModelSlots`` keeps it in its
``previous`` slot), a share of the files Production answered (``--previous-share``; all of them
by default with ``--auto-rollback``) are analysed again on it, after the answer went out,
through a bounded queue served by one thread: when the queue is full the replay is dropped
(``edm_analyses_total{variant="previous", result="dropped"}``) instead of slowing Production.

Each replay adds to the same per-variant series Production's answers add to, with
``variant="previous"``: ``edm_analyses_total`` (ok or error), ``edm_prediction_confidence``
and ``edm_inference_duration_seconds``. The rules in ``deploy/prometheus/rules`` compare
``variant="production"`` with ``variant="previous"`` over one window.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import AudioError
from edm.serving.replay_queue import ReplayQueue
from edm.serving.slots import PREVIOUS

if TYPE_CHECKING:
    from edm.serving.metrics import Metrics
    from edm.serving.slots import ModelSlots

log = logging.getLogger(__name__)


class PreviousReplays:
    def __init__(self, slots: ModelSlots, metrics: Metrics, *, queue_size: int) -> None:
        self.slots = slots
        self.metrics = metrics
        self._queue: ReplayQueue[Path] = ReplayQueue(
            "edm-previous", self.replay, lambda path: path, self._dropped, queue_size=queue_size
        )

    @property
    def ready(self) -> bool:
        """Whether a previous version is loaded to replay on."""
        return PREVIOUS in self.slots.slots and self.slots.model(PREVIOUS) is not None

    def start(self) -> None:
        self._queue.start()

    def stop(self) -> None:
        self._queue.stop()

    def submit(self, path: Path) -> bool:
        """Queue a replay of ``path`` (this takes the file over); False when the queue is full."""
        return self._queue.submit(path)

    def _dropped(self) -> None:
        self.metrics.analyses.labels(variant=PREVIOUS, result="dropped").inc()

    def replay(self, path: Path) -> None:
        """Analyse ``path`` on the previous version and count what happened."""
        model = self.slots.model(PREVIOUS) if PREVIOUS in self.slots.slots else None
        if model is None:
            return
        started = time.perf_counter()
        try:
            analysis = model.analyzer.analyze(path)
        except AudioError:
            return  # Production decoded it: a file gone or changed, no figure of the version
        except Exception as exc:
            self.metrics.analyses.labels(variant=PREVIOUS, result="error").inc()
            log.warning("replay on the previous version %s failed: %s", model.version, exc)
            return
        self.metrics.inference_duration.labels(variant=PREVIOUS).observe(
            time.perf_counter() - started
        )
        self.metrics.analyses.labels(variant=PREVIOUS, result="ok").inc()
        confidence = analysis.structure.confidence
        if confidence is not None:
            self.metrics.prediction_confidence.labels(variant=PREVIOUS).observe(confidence.overall)
