"""TrackedRun: one MLflow run that edm logs into while a model trains, then registers.

Used as a context manager, it never leaves a run RUNNING: a clean exit ends it FINISHED, an
exception FAILED, Ctrl-C KILLED. It knows the store through its connection and creates model
versions through the function it is given, never through the registry front.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mlflow.entities import Metric, Param, RunTag

from edm.errors import CheckpointNotFoundError, interrupt_behind

if TYPE_CHECKING:
    from edm.registry.store import StoreConnection

log = logging.getLogger(__name__)

CHECKPOINT_ARTIFACT_PATH = "model"
SYSTEM_METRICS_INTERVAL_S = 10.0
RUN_VERSION_TAG = "edm.model_version"
_PER_BATCH = {"params": 100, "metrics": 1000, "tags": 100}  # MLflow's log_batch limits

# (run_id, artifact_uri, checkpoint, metrics linked to the version, step) -> the new version
RegisterCheckpoint = Callable[[str, str, Path, Mapping[str, float], int], int]


class TrackedRun:
    def __init__(
        self,
        connection: StoreConnection,
        register_checkpoint: RegisterCheckpoint,
        run_id: str,
        run_name: str,
        artifact_uri: str,
        logged_params: Mapping[str, str] | None = None,
    ):
        self._connection = connection
        self._register_checkpoint = register_checkpoint
        self.run_id = run_id
        self.run_name = run_name
        self.artifact_uri = artifact_uri
        self.version: int | None = None
        self._logged_params = dict(logged_params or {})
        self._ended = False
        self._system_metrics: Any = None

    def _errors(self, what: str):
        return self._connection.errors(f"{what} run '{self.run_name}'")

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params; in a resumed run, a param MLflow already holds with another value (more
        epochs, say) cannot change, so the new value goes to an ``edm.resumed.<name>`` tag."""
        values = {str(k): str(v) for k, v in params.items()}
        changed = {
            f"edm.resumed.{k}": v
            for k, v in values.items()
            if k in self._logged_params and self._logged_params[k] != v
        }
        if changed:
            self.set_tags(changed)
        entries = [Param(k, v) for k, v in values.items() if k not in self._logged_params]
        self._logged_params.update({p.key: p.value for p in entries})
        with self._errors("logging"):
            for chunk in _chunks(entries, _PER_BATCH["params"]):
                self._connection.client.log_batch(self.run_id, params=chunk)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        now_ms = int(time.time() * 1000)
        entries = [Metric(str(k), float(v), now_ms, step) for k, v in metrics.items()]
        with self._errors("logging"):
            for chunk in _chunks(entries, _PER_BATCH["metrics"]):
                self._connection.client.log_batch(self.run_id, metrics=chunk)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        entries = [RunTag(str(k), str(v)) for k, v in tags.items()]
        with self._errors("tagging"):
            for chunk in _chunks(entries, _PER_BATCH["tags"]):
                self._connection.client.log_batch(self.run_id, tags=chunk)

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        with self._errors("uploading an artifact of"):
            self._connection.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_inputs(
        self,
        listing: Any,
        *,
        source: str,
        name: str,
        context: str = "batch",
        model_id: str | None = None,
    ) -> None:
        """Record what the run read: ``listing`` (a pandas DataFrame) as an MLflow dataset
        from ``source``, and the logged model ``model_id`` it ran, so the MLflow UI links the
        run to both."""
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag, LoggedModelInput

        dataset = mlflow.data.from_pandas(listing, source=source, name=name)
        inputs = [
            DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", context)])
        ]
        models = [LoggedModelInput(model_id)] if model_id else None
        with self._errors("logging the inputs of"):
            self._connection.client.log_inputs(self.run_id, datasets=inputs, models=models)

    def register(
        self,
        checkpoint: Path,
        linked_metrics: Mapping[str, float] | None = None,
        step: int = 0,
    ) -> int:
        """Register the checkpoint as a new version; ``linked_metrics`` (the final scores, such
        as best_val_loss) are logged on the run and linked to the version's MLflow model."""
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise CheckpointNotFoundError(checkpoint)
        with self._errors("registering"):
            self.version = self._register_checkpoint(
                self.run_id, self.artifact_uri, checkpoint, dict(linked_metrics or {}), step
            )
            self._connection.client.set_tag(self.run_id, RUN_VERSION_TAG, str(self.version))
        return self.version

    def log_system_metrics(self, sampling_interval: float = SYSTEM_METRICS_INTERVAL_S) -> None:
        """Log MLflow's system metrics (CPU, memory, disk, network, GPU: ``system/...``) every
        ``sampling_interval`` seconds until the run ends. Best effort: never fails the run."""
        try:
            from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor

            monitor = SystemMetricsMonitor(
                self.run_id,
                sampling_interval=sampling_interval,
                resume_logging=True,
                tracking_uri=self._connection.location.tracking_uri,
            )
            monitor.start()
        except Exception as exc:  # psutil missing, a store that refuses: the run goes on
            log.info("run '%s': no system metrics (%s)", self.run_name, exc)
            return
        self._system_metrics = monitor

    def _stop_system_metrics(self) -> None:
        monitor, self._system_metrics = self._system_metrics, None
        if monitor is None:
            return
        try:
            monitor.finish()
            if monitor._logging_step == 0:  # a run shorter than one interval: one sample
                monitor.collect_metrics()
                monitor.publish_metrics(monitor.aggregate_metrics())
                monitor.mlflow_logger.flush()
        except Exception as exc:
            log.info("run '%s': system metrics not flushed (%s)", self.run_name, exc)

    def end(self, status: str = "FINISHED") -> None:
        self._stop_system_metrics()
        with self._errors("ending"):
            self._connection.client.set_terminated(self.run_id, status)
        self._ended = True

    def __enter__(self) -> TrackedRun:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._ended:
            return
        if exc_type is None:
            self.end("FINISHED")
            return
        interrupted = exc is not None and interrupt_behind(exc) is not None
        status = "KILLED" if interrupted or issubclass(exc_type, KeyboardInterrupt) else "FAILED"
        with suppress(Exception):  # the original failure matters more than this one
            self.end(status)


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]
