"""Runs left RUNNING with no progress for a long time: what a killed trainer leaves behind.

A run that ends normally, fails, or is interrupted (Ctrl-C, SIGTERM) is ended by edm. Only a
process killed outright (``kill -9``, the machine losing power, an OOM kill) leaves its run
RUNNING forever. Such a run is told apart from one still training by its last sign of life:
the newest metric it logged (the trainer logs every epoch), else its start time.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edm.registry.model_registry import ModelRegistry

DEFAULT_QUIET_HOURS = 6.0
_MAX_RUNS = 1000


@dataclass(frozen=True)
class StaleRun:
    run_id: str
    run_name: str
    experiment: str
    last_progress_ms: int  # the newest metric's time, else the start time (ms since epoch)
    quiet_hours: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return (
            f"run '{self.run_name}' ({self.run_id}) in '{self.experiment}' is RUNNING with no "
            f"progress for {self.quiet_hours:.1f} h"
        )


def stale_runs(
    registry: ModelRegistry, quiet_hours: float = DEFAULT_QUIET_HOURS, *, now_ms: int | None = None
) -> list[StaleRun]:
    """RUNNING runs of every experiment with nothing logged for ``quiet_hours`` or more."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = now_ms - int(quiet_hours * 3600 * 1000)
    client = registry.client
    found: list[StaleRun] = []
    with registry.connection.errors("listing runs left RUNNING"):
        experiments = {e.experiment_id: e.name for e in client.search_experiments()}
        if not experiments:
            return []
        running = client.search_runs(
            list(experiments),
            filter_string=f"attributes.status = 'RUNNING' and attributes.start_time < {cutoff}",
            max_results=_MAX_RUNS,
        )
        for run in running:
            last = int(run.info.start_time or 0)
            for key in list(run.data.metrics)[:1]:  # the trainer logs all its metrics together
                history = client.get_metric_history(run.info.run_id, key)
                last = max([last, *(int(m.timestamp) for m in history)])
            if last < cutoff:
                found.append(
                    StaleRun(
                        run_id=run.info.run_id,
                        run_name=run.info.run_name or "",
                        experiment=experiments.get(run.info.experiment_id, ""),
                        last_progress_ms=last,
                        quiet_hours=(now_ms - last) / 3_600_000,
                    )
                )
    return found
