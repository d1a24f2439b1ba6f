"""Many processes at once, nothing lost: against the default SQLite store and the server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import pytest
from tests.gate_helpers import GOOD, evaluated_on

from edm.registry import ModelRegistry, Stage

WORKER = Path(__file__).with_name("concurrent_worker.py")


def run_at_once(jobs: list[dict], start_in_s: float = 12.0) -> list[dict]:
    """Start one process per job; they all begin their work at the same moment."""
    start_at = time.time() + start_in_s
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), json.dumps(job | {"start_at": start_at})],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for job in jobs
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-3000:]
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


@pytest.fixture(params=["sqlite", "http"])
def shared_registry(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], ModelRegistry]:
    if request.param == "sqlite":
        uri = str(tmp_path / "mlruns")  # a new default-layout store: the workers race to create it
    else:
        uri = request.getfixturevalue("mlflow_server").url
    suffix = f"{request.param}-{tmp_path.name}"[-40:]
    names = {"model_name": f"concurrent-{suffix}", "experiment_name": f"concurrent-{suffix}"}

    def make() -> ModelRegistry:
        return ModelRegistry(tracking_uri=uri, **names)

    return make


@pytest.mark.slow
def test_eight_processes_logging_at_once_lose_nothing(
    shared_registry: Callable[[], ModelRegistry], checkpoint: Path
) -> None:
    registry = shared_registry()
    jobs = [
        {
            "action": "log",
            "uri": registry.store.tracking_uri
            if registry.store.is_remote
            else str(registry.store.local_dir),
            "model_name": registry.model_name,
            "experiment_name": registry.experiment_name,
            "checkpoint": str(checkpoint),
            "worker": worker,
            "count": 5,
        }
        for worker in range(8)
    ]
    results = run_at_once(jobs)
    run_ids = {run_id for result in results for run_id in result["run_ids"]}
    assert len(run_ids) == 40

    versions = registry.list_models(max_results=100)
    assert sorted(v["version"] for v in versions) == list(range(1, 41))
    assert {v["run_id"] for v in versions} == run_ids
    assert {v["run_name"] for v in versions} == {
        f"worker{w}-{i}" for w in range(8) for i in range(5)
    }
    for version in versions:
        assert version["tags"]["edm.model_version"] == str(version["version"])
        assert version["params"]["worker"] == version["run_name"][6]


@pytest.mark.slow
def test_sixteen_concurrent_promotions_leave_one_production(
    shared_registry: Callable[[], ModelRegistry], checkpoint: Path
) -> None:
    registry = shared_registry()
    for i in range(16):
        registry.log_model(checkpoint, f"candidate-{i}", {}, {"best_val_loss": 1.0})
        evaluated_on(registry, i + 1, "holdout", ("h1", "h2"), **GOOD)  # all equal: all pass
    uri = registry.store.tracking_uri if registry.store.is_remote else str(registry.store.local_dir)
    jobs = [
        {
            "action": "promote",
            "uri": uri,
            "model_name": registry.model_name,
            "experiment_name": registry.experiment_name,
            "worker": version,
            "version": version,
        }
        for version in range(1, 17)
    ]
    results = run_at_once(jobs)
    assert sorted(r["promoted"] for r in results) == list(range(1, 17))

    stages = {m["version"]: m["stage"] for m in registry.list_models(max_results=100)}
    production = [v for v, stage in stages.items() if stage == "Production"]
    assert len(production) == 1
    assert sorted(v for v, stage in stages.items() if stage == "Archived") == sorted(
        set(range(1, 17)) - set(production)
    )

    # 16 entries that tell one consistent story: each promotion archived the previous winner.
    trail = list(reversed(registry.history()))
    assert len(trail) == 16
    assert all(e.to_stage == Stage.PRODUCTION and e.from_stage == Stage.NONE for e in trail)
    assert trail[0].displaced_version is None
    for before, after in pairwise(trail):
        assert after.displaced_version == before.version
    assert trail[-1].version == production[0]
    assert sorted(e.version for e in trail) == list(range(1, 17))
