"""Runs left RUNNING with no progress (a trainer killed with kill -9) are found; runs still
making progress, and ended runs, are not."""

from __future__ import annotations

import time

from edm.registry import ModelRegistry
from edm.registry.stale_runs import stale_runs

HOUR_MS = 3_600_000


def test_runs_left_running_without_progress_are_listed(store_uri: str) -> None:
    registry = ModelRegistry(tracking_uri=store_uri)
    client = registry.client
    experiment = client.get_experiment(client.create_experiment("edm-training"))
    now = int(time.time() * 1000)

    def run(name: str, started_hours_ago: float, metric_hours_ago: float | None = None) -> str:
        created = client.create_run(
            experiment.experiment_id, start_time=now - int(started_hours_ago * HOUR_MS),
            run_name=name,
        )  # fmt: skip
        if metric_hours_ago is not None:
            when = now - int(metric_hours_ago * HOUR_MS)
            client.log_metric(created.info.run_id, "train_loss", 1.0, timestamp=when, step=0)
        return created.info.run_id

    abandoned = run("abandoned", started_hours_ago=30, metric_hours_ago=20)
    never_logged = run("never-logged", started_hours_ago=9)
    run("still-training", started_hours_ago=30, metric_hours_ago=0.5)
    run("just-started", started_hours_ago=1)
    finished = run("finished", started_hours_ago=40, metric_hours_ago=39)
    client.set_terminated(finished, "FINISHED")

    found = stale_runs(registry, quiet_hours=6, now_ms=now)

    assert sorted((s.run_name, s.run_id) for s in found) == [
        ("abandoned", abandoned),
        ("never-logged", never_logged),
    ]
    by_name = {s.run_name: s for s in found}
    assert round(by_name["abandoned"].quiet_hours) == 20
    assert "RUNNING with no progress for 20.0 h" in str(by_name["abandoned"])
    assert by_name["never-logged"].experiment == "edm-training"
