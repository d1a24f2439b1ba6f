"""A run's checkpoint as an MLflow 3 logged model, registered as a model version.

The steps are MLflow's own ``Model.log``, taken through the client of this store rather than the
process-wide fluent API (a server holds many stores' clients in one process): create the logged
model, link it to the run as an output, write and upload the model folder, link the run's final
metrics to it, mark it READY. A failure on the way marks the logged model FAILED, so the UI never
shows a half-uploaded model as usable, and no version is created for it.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

from edm.registry.packaging import MODEL_ARTIFACT_NAME, ModelPackage, save_package

if TYPE_CHECKING:
    from edm.registry.store import RetryingClient
    from edm.settings import StoreLocation


def log_logged_model(
    client: RetryingClient,
    experiment_id: str,
    run_id: str,
    package: ModelPackage,
    *,
    params: Mapping[str, str],
    tags: Mapping[str, str],
    metrics: Mapping[str, float],
    step: int = 0,
) -> str:
    """Log ``package`` as the run's model ``model``; returns the logged model's id."""
    from mlflow.entities import LoggedModelOutput, LoggedModelStatus
    from mlflow.models import Model

    model = client.create_logged_model(
        experiment_id,
        name=MODEL_ARTIFACT_NAME,
        source_run_id=run_id,
        params=dict(params),
        tags=dict(tags),
        model_type=package.model_type,
    )
    try:
        client.log_outputs(run_id, [LoggedModelOutput(model.model_id, step=step)])
        with tempfile.TemporaryDirectory(prefix="edm-model-") as folder:
            local = Path(folder) / MODEL_ARTIFACT_NAME
            mlflow_model = Model(
                artifact_path=model.artifact_location,
                model_uuid=model.model_id,
                run_id=run_id,
                model_id=model.model_id,
            )
            save_package(package, local, mlflow_model)
            client.log_model_artifacts(model.model_id, str(local))
        log_linked_metrics(client, run_id, metrics, model_id=model.model_id, step=step)
        client.finalize_logged_model(model.model_id, LoggedModelStatus.READY)
    except BaseException:
        with suppress(Exception):  # the original failure matters more than this one
            client.finalize_logged_model(model.model_id, LoggedModelStatus.FAILED)
        raise
    return model.model_id


def log_linked_metrics(
    client: RetryingClient,
    run_id: str,
    metrics: Mapping[str, float],
    *,
    model_id: str | None,
    step: int = 0,
    tags: Mapping[str, str] | None = None,
) -> None:
    """Log metrics (and tags) on a run in ONE request, linked to its logged model if any.

    One ``log_batch`` is one transaction in every store: all of it lands, or none. Logging
    onto a finished run keeps its status and its start and end times.
    """
    from mlflow.entities import Metric, RunTag

    now_ms = int(time.time() * 1000)
    entries = [
        Metric(str(key), float(value), now_ms, step, model_id=model_id)
        for key, value in metrics.items()
    ]
    run_tags = [RunTag(str(key), str(value)) for key, value in (tags or {}).items()]
    if entries or run_tags:
        client.log_batch(run_id, metrics=entries, tags=run_tags)


_GLOBAL_URI_LOCK = threading.Lock()


@contextmanager
def logged_models_resolvable(location: StoreLocation) -> Iterator[None]:
    """Let a local registry store find this store's logged models while the block runs.

    MLflow's SQL registry store resolves a ``models:/<id>`` version source through the
    process-wide tracking URI, not the client's (a TODO in MLflow 3's code), so creating such a
    version on any store but the global one fails with "Logged model ... not found". Pointing
    MLflow's module-level URI (never ``os.environ``) at this store for that one call, under a
    lock, is the narrowest fix. A tracking server resolves the source with its own store.
    """
    if location.is_remote:
        yield
        return
    from mlflow.tracking._tracking_service import utils

    with _GLOBAL_URI_LOCK:
        previous = utils._tracking_uri
        utils._tracking_uri = location.tracking_uri
        try:
            yield
        finally:
            utils._tracking_uri = previous
