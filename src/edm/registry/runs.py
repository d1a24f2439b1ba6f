"""Logging: the experiment, its runs, and registering a run's checkpoint as a new version."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from edm.code_version import code_version_tags
from edm.errors import CheckpointNotFoundError, ConfigError
from edm.registry.creator import record_creator
from edm.registry.logged_models import (
    log_linked_metrics,
    log_logged_model,
    logged_models_resolvable,
)
from edm.registry.packaging import Packager, resolve_packager
from edm.registry.provenance import (
    MODEL_VERSIONS_TAG,
    PARENT_RUN_TAG,
    provenance_tags,
    version_description,
)
from edm.registry.records import LOGGED_MODEL_PREFIX
from edm.registry.store import is_already_exists
from edm.registry.tracked_run import CHECKPOINT_ARTIFACT_PATH, TrackedRun
from edm.settings import current_user

if TYPE_CHECKING:
    from edm.registry.store import StoreConnection

DEFAULT_TAGS = {"model_type": "multitask"}

# The kind MLflow 3's UI reads to open an experiment on runs, metrics and models rather than in
# its GenAI view (traces, token usage). MLflow 3.17.2's UI lets its own GenAI / Model training
# switch (or ?workflowType= in the link) win over it. A kind someone set already is kept.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


class Runs:
    """Runs of one experiment, whose checkpoints become versions of one registered model."""

    def __init__(
        self,
        connection: StoreConnection,
        experiment_name: str,
        model_name: str,
        packager: str | Packager | None = None,
    ) -> None:
        self._connection = connection
        self._packager_name = packager
        self._resolved_packager: Packager | None = None
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
            run.register(model_path, linked_metrics=metric_values)
        return run.run_id

    def start_run(
        self,
        run_name: str,
        tags: Mapping[str, Any] | None = None,
        *,
        resume_run_id: str | None = None,
        parent_run_id: str | None = None,
    ) -> TrackedRun:
        """Open a run (or reopen ``resume_run_id``); default tags first, the caller's win.

        ``parent_run_id`` opens a child of that run, in the parent's experiment (the MLflow UI
        nests it under the parent).
        """
        all_tags = {
            **code_version_tags(),
            **provenance_tags(),
            **DEFAULT_TAGS,
            **{k: str(v) for k, v in (tags or {}).items()},
        }
        client = self._connection.client
        with self._connection.errors(f"creating run '{run_name}'"):
            if resume_run_id is not None:
                run = client.get_run(resume_run_id)
                client.update_run(resume_run_id, status="RUNNING")
            elif parent_run_id is not None:
                parent = client.get_run(parent_run_id)
                all_tags[PARENT_RUN_TAG] = parent_run_id
                run = client.create_run(parent.info.experiment_id, run_name=run_name, tags=all_tags)
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

    def register_checkpoint(
        self,
        run_id: str,
        artifact_uri: str,
        checkpoint: Path,
        linked_metrics: Mapping[str, float],
        step: int = 0,
    ) -> int:
        """Register the run's checkpoint as a new version, with the run's final metrics.

        A checkpoint the packager knows becomes an MLflow logged model (``models:/<id>``,
        loadable with ``mlflow.pyfunc``) and the version's source is that model; any other file
        is uploaded under the run's ``model/`` folder and the version points there.
        """
        client = self._connection.client
        package = self._packager(checkpoint) if self._packager is not None else None
        run = client.get_run(run_id)
        description = version_description(run.data.params, run.data.tags, linked_metrics)
        self._ensure_registered_model()
        if package is None:
            client.log_artifact(run_id, str(checkpoint), CHECKPOINT_ARTIFACT_PATH)
            log_linked_metrics(client, run_id, linked_metrics, model_id=None, step=step)
            source, model_id = f"{artifact_uri.rstrip('/')}/{CHECKPOINT_ARTIFACT_PATH}", None
        else:
            model_id = log_logged_model(
                client,
                run.info.experiment_id,
                run_id,
                package,
                params=run.data.params,
                tags={**provenance_tags(), "edm.checkpoint": checkpoint.name},
                metrics=linked_metrics,
                step=step,
            )
            source = f"{LOGGED_MODEL_PREFIX}{model_id}"
        with logged_models_resolvable(self._connection.location):
            version = client.create_model_version(
                self.model_name,
                source=source,
                run_id=run_id,
                tags={"checkpoint": checkpoint.name},
                description=description,
                model_id=model_id,
            )
        record_creator(client.unwrapped, self.model_name, int(version.version), current_user())
        if model_id is not None:
            # The UI's logged-model page lists the versions made from it from this tag.
            versions = [{"name": self.model_name, "version": str(version.version)}]
            client.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(versions)})
        return int(version.version)

    def link_metrics(
        self,
        run_id: str,
        model_id: str | None,
        metrics: Mapping[str, float],
        tags: Mapping[str, str] | None = None,
    ) -> None:
        """Add metrics and tags to a version's run (and its logged model) in one request."""
        values = _validated_metrics(metrics)
        with self._connection.errors(f"logging metrics onto run {run_id}"):
            log_linked_metrics(
                self._connection.client, run_id, values, model_id=model_id, tags=tags
            )

    def experiment_id(self) -> str:
        """The experiment's id, creating the experiment on first use."""
        if self._experiment_id is not None:
            return self._experiment_id
        client = self._connection.client
        experiment = client.get_experiment_by_name(self.experiment_name)
        if experiment is None:
            try:
                self._experiment_id = client.create_experiment(
                    self.experiment_name,
                    artifact_location=self._connection.location.artifact_root,
                    tags={EXPERIMENT_KIND_TAG: EXPERIMENT_KIND},
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
        if EXPERIMENT_KIND_TAG not in (experiment.tags or {}):  # made before edm tagged it
            client.set_experiment_tag(
                experiment.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
            )
        self._experiment_id = experiment.experiment_id
        return self._experiment_id

    @property
    def _packager(self) -> Packager | None:
        if self._resolved_packager is None and self._packager_name is not None:
            self._resolved_packager = resolve_packager(self._packager_name)
        return self._resolved_packager

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
