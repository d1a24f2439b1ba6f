"""Logging: the experiment, its runs, and registering a run's checkpoint as a new version."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from edm.data.lineage import code_version_tags
from edm.errors import CheckpointNotFoundError, ConfigError
from edm.registry.store import is_already_exists
from edm.registry.tracked_run import CHECKPOINT_ARTIFACT_PATH, TrackedRun

if TYPE_CHECKING:
    from edm.registry.store import StoreConnection

DEFAULT_TAGS = {"model_type": "multitask"}


class Runs:
    """Runs of one experiment, whose checkpoints become versions of one registered model."""

    def __init__(self, connection: StoreConnection, experiment_name: str, model_name: str) -> None:
        self._connection = connection
        self.experiment_name = experiment_name
        self.model_name = model_name
        self._experiment_id: str | None = None
        self._model_exists = False

    def log_model(
        self,
        model_path: Path,
        run_name: str,
        params: Mapping[str, Any],
        metrics: Mapping[str, float],
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Log a checkpoint with its params, metrics and tags; register it; return the run id.

        The run ends FINISHED only once the version exists; any failure on the way marks it
        FAILED (KILLED on Ctrl-C) so no run is left RUNNING.
        """
        model_path = Path(model_path)
        if not model_path.is_file():
            raise CheckpointNotFoundError(model_path)
        metric_values = _validated_metrics(metrics)
        with self.start_run(run_name, tags=tags) as run:
            run.log_params(params)
            run.log_metrics(metric_values)
            run.register(model_path)
        return run.run_id

    def start_run(
        self,
        run_name: str,
        tags: Mapping[str, Any] | None = None,
        *,
        resume_run_id: str | None = None,
    ) -> TrackedRun:
        """Open a run (or reopen ``resume_run_id``); default tags first, the caller's win."""
        all_tags = {
            **code_version_tags(),
            **DEFAULT_TAGS,
            **{k: str(v) for k, v in (tags or {}).items()},
        }
        client = self._connection.client
        with self._connection.errors(f"creating run '{run_name}'"):
            if resume_run_id is not None:
                run = client.get_run(resume_run_id)
                client.update_run(resume_run_id, status="RUNNING")
            else:
                run = client.create_run(self.experiment_id(), run_name=run_name, tags=all_tags)
        info = run.info
        return TrackedRun(
            self._connection,
            self.register_checkpoint,
            info.run_id,
            info.run_name or run_name,
            info.artifact_uri,
            run.data.params,
        )

    def register_checkpoint(self, run_id: str, artifact_uri: str, checkpoint_name: str) -> int:
        """Create a model version whose source is the run's ``model/`` artifact folder.

        ``mlflow.register_model("runs:/<id>/model")`` fails on MLflow 3 for a folder that is
        not a logged MLflow model, so the version is created from the artifact source directly.
        """
        self._ensure_registered_model()
        version = self._connection.client.create_model_version(
            self.model_name,
            source=f"{artifact_uri.rstrip('/')}/{CHECKPOINT_ARTIFACT_PATH}",
            run_id=run_id,
            tags={"checkpoint": checkpoint_name},
        )
        return int(version.version)

    def experiment_id(self) -> str:
        """The experiment's id, creating the experiment on first use."""
        if self._experiment_id is not None:
            return self._experiment_id
        client = self._connection.client
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                self._experiment_id = client.create_experiment(
                    self.experiment_name, artifact_location=self._connection.location.artifact_root
                )
                return self._experiment_id
            except MlflowException as exc:
                if not is_already_exists(exc):  # another process created it first
                    raise
                experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None or experiment.lifecycle_stage == "deleted":
            raise ConfigError(
                f"experiment '{self.experiment_name}' is deleted: restore it with "
                f"'mlflow experiments restore' or choose another experiment name"
            )
        self._experiment_id = experiment.experiment_id
        return self._experiment_id

    def _ensure_registered_model(self) -> None:
        if self._model_exists:
            return
        try:
            self._connection.client.create_registered_model(
                self.model_name, description="EDM track-structure models trained with edm."
            )
        except MlflowException as exc:
            if not is_already_exists(exc):
                raise
        self._model_exists = True


def _validated_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    values = {}
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"metric '{key}' is not a number: {value!r}") from None
        if math.isnan(number):
            raise ConfigError(f"metric '{key}' is NaN")
        values[str(key)] = number
    return values
