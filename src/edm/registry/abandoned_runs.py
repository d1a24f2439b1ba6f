"""Ending a run whose process is known to be gone (``kill -9``, an OOM kill).

``stale_runs`` can only guess from hours of silence; a caller that knows the process is gone
(``edm batch`` reading the mark a killed driver left in its output) ends the run at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edm.registry.store import StoreConnection

ENDED_BY_TAG = "edm.ended_by"


def end_abandoned_run(connection: StoreConnection, run_id: str, reason: str) -> bool:
    """End ``run_id`` KILLED if it is still RUNNING (its process is known to be gone), with
    ``reason`` in the tag ``edm.ended_by``; False when it had already ended or is unknown."""
    from mlflow.exceptions import MlflowException

    client = connection.client
    with connection.errors(f"ending the abandoned run {run_id}"):
        try:
            run = client.get_run(run_id)
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":  # another store's, or deleted
                return False
            raise
        if run.info.status != "RUNNING":
            return False
        client.set_tag(run_id, ENDED_BY_TAG, reason)
        client.set_terminated(run_id, "KILLED", end_time=_last_sign_of_life(client, run))
    return True


def _last_sign_of_life(client: Any, run: Any) -> int:
    """When the dead process last logged anything (ms): its run ends then, not when someone
    found it, so the run's duration is the time it really worked."""
    last = int(run.info.start_time or 0)
    for key in run.data.metrics:
        history = client.get_metric_history(run.info.run_id, key)
        last = max([last, *(int(metric.timestamp) for metric in history)])
    return last
