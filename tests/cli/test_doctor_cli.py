"""``edm doctor`` on a real SQLite store: what it lists beside the store's health."""

from __future__ import annotations

import json
import time

from edm.registry import ModelRegistry

HOUR_MS = 3_600_000


def test_doctor_lists_runs_left_running_without_failing(run_edm, store_uri: str) -> None:
    client = ModelRegistry(tracking_uri=store_uri).client
    experiment_id = client.create_experiment("edm-training")
    started = int(time.time() * 1000) - 30 * HOUR_MS
    left = client.create_run(experiment_id, start_time=started, run_name="killed-9").info.run_id
    result = run_edm("--tracking-uri", store_uri, "doctor")
    assert result.exit_code == 0, result.stderr  # a stale run is news, not registry damage
    assert f"Left RUNNING: run 'killed-9' ({left})" in result.stdout
    document = json.loads(run_edm("--tracking-uri", store_uri, "doctor", "--json").stdout)
    assert [run["run_id"] for run in document["stale_runs"]] == [left]
