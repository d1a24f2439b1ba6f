"""Live evidence from the service, logged onto a version's run beside its offline scores.

The run is finished (training ended it); metrics are added to it with one ``log_batch``
without reopening it, so its status and end time stay as they were. Each call adds one point
per metric, stamped now: the latest point is what ``edm models info`` shows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from edm.errors import ModelVersionNotFoundError, RegistryError
from edm.registry.records import version_number

if TYPE_CHECKING:
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection


def log_live_metrics(
    connection: StoreConnection,
    queries: Queries,
    version: int | str,
    metrics: Mapping[str, float],
) -> str:
    """Log ``metrics`` onto the run of ``version``; returns the run id.

    Values that are not finite numbers are left out (MLflow stores NaN, but it reads as a
    score nobody measured).
    """
    from mlflow.entities import Metric

    number = version_number(version, queries.model_name)
    with connection.errors(f"logging live metrics onto version {number}"):
        model_version = queries.get_version(number)
        if model_version is None:
            raise ModelVersionNotFoundError(queries.model_name, number)
        if not model_version.run_id:
            raise RegistryError(f"version {number} has no run to log live metrics onto")
        now = int(time.time() * 1000)
        batch = [
            Metric(key=name, value=float(value), timestamp=now, step=0)
            for name, value in sorted(metrics.items())
            if isinstance(value, int | float) and math.isfinite(float(value))
        ]
        if batch:
            connection.client.log_batch(model_version.run_id, metrics=batch)
        return model_version.run_id
