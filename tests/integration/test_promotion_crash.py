"""kill -9 of ``edm models promote`` at every step of a promotion, on a real store: the next
``edm models repair`` (or the next promote) leaves the registry whole, the change either not
begun or finished with its audit entry, never half-way.

The promotion stops at a step through its test hook (``edm.registry.faults``); the test then
kills the process there, as a crash, an OOM kill or a lost machine would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.gate_helpers import GOOD, evaluated_on

from edm.registry import ModelRegistry
from edm.registry.faults import ENV_PAUSE_AT, ENV_PAUSE_FILE

# Promoting version 2 (Staging) to Production over version 1: three moves (the production
# alias, the staging alias, the archived tag of version 1).
STEPS = ["locked", "intent", "move-1", "move-2", "move-3", "audited"]
BEFORE = {1: "Production", 2: "Staging", 3: "None"}
AFTER = {1: "Archived", 2: "Production", 3: "None"}


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "mlruns")
    server = request.getfixturevalue("postgres_server")
    template = request.getfixturevalue("postgres_template")
    return server.uri(server.create_database(template=template))


@pytest.fixture
def staged(store: str, checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    registry = ModelRegistry()
    for i, score in enumerate([0.6, 0.8, 0.9], start=1):
        registry.log_model(checkpoint, f"run-{i}", {}, {})
        evaluated_on(registry, i, "holdout", ("h1", "h2"), **{**GOOD, "boundary_f_0.5": score})
    registry.promote_model(1, "Production", reason="first")
    registry.promote_model(2, "Staging")
    return registry


def crash_promotion_at(step: str, tmp_path: Path, store: str) -> None:
    """Run ``edm models promote 2 Production`` and kill it (SIGKILL) at ``step``."""
    marker = tmp_path / f"paused-at-{step}"
    environment = os.environ | {
        "MLFLOW_TRACKING_URI": store,  # not on the command line: it may hold a password
        ENV_PAUSE_AT: step,
        ENV_PAUSE_FILE: str(marker),
    }
    command = [sys.executable, "-m", "edm", "models", "promote", "2", "Production", "-r", "crash"]
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            if process.poll() is not None:
                pytest.fail(f"the promotion ended before {step}: {process.communicate()}")
            assert time.monotonic() < deadline, f"the promotion never reached {step}"
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    assert process.returncode == -signal.SIGKILL


def stages(registry: ModelRegistry) -> dict[int, str]:
    return {m["version"]: m["stage"] for m in registry.list_models()}


def assert_whole(registry: ModelRegistry) -> None:
    check = registry.check_registry()
    assert check.unfinished == () and check.in_progress == ()
    assert check.drift == ()
    assert check.verification.ok, check.verification.problems
    found = registry.client.search_registered_models(f"name LIKE '{registry.model_name}%'")
    assert [m.name for m in found] == [registry.model_name]  # no lock left behind


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_repair_after_a_kill_at_each_step_leaves_the_registry_whole(
    step: str, staged: ModelRegistry, store: str, tmp_path: Path, run_edm: RunEdm
) -> None:
    crash_promotion_at(step, tmp_path, store)
    if step in ("move-1", "move-2"):
        assert stages(staged) not in (BEFORE, AFTER)  # the kill left it half-way

    doctor = run_edm("doctor")
    moved = step != "locked"  # killed holding the lock, before writing its intent
    assert doctor.exit_code == (1 if moved else 0), doctor.stdout + doctor.stderr
    if moved:
        assert "Unfinished promotion: promote of version 2: Staging → Production" in doctor.stdout
        assert "run 'edm models repair'" in doctor.stderr

    repaired = run_edm("models", "repair", "--json")
    assert repaired.exit_code == 0, repaired.stderr
    report = json.loads(repaired.stdout)
    assert len(report["broken_locks"]) == 1
    assert report["verification"]["ok"] is True

    assert stages(staged) == (AFTER if moved else BEFORE)
    history = staged.history()
    if moved:
        assert [(e.version, e.to_stage.value, e.reason) for e in history[:1]] == [
            (2, "Production", "crash")
        ]
        assert history[0].displaced_version == 1
        assert len(history) == 3
        # a finished change is reported once: the entry was missing only before "audited"
        assert len(report["finished"]) == (0 if step == "audited" else 1)
    else:
        assert len(history) == 2 and report["finished"] == []
    assert_whole(staged)
    assert json.loads(run_edm("models", "repair", "--json").stdout)["broken_locks"] == []
    assert run_edm("doctor").exit_code == 0


@pytest.mark.slow
@pytest.mark.parametrize(
    ("store", "step"),
    [("sqlite", "intent"), ("sqlite", "move-2"), ("postgresql", "move-2")],
    indirect=["store"],
)
def test_the_next_promotion_finishes_a_crashed_one_first(
    step: str, staged: ModelRegistry, store: str, tmp_path: Path, run_edm: RunEdm
) -> None:
    crash_promotion_at(step, tmp_path, store)
    promoted = run_edm("models", "promote", "3", "Production", "--json")
    assert promoted.exit_code == 0, promoted.stderr
    entry = json.loads(promoted.stdout)["entry"]
    assert (entry["version"], entry["displaced_version"]) == (3, 2)  # after the crashed one
    assert stages(staged) == {1: "Archived", 2: "Archived", 3: "Production"}
    assert [(e.version, e.to_stage.value) for e in staged.history()] == [
        (3, "Production"),
        (2, "Production"),
        (2, "Staging"),
        (1, "Production"),
    ]
    rolled = json.loads(run_edm("models", "rollback", "--json").stdout)["entry"]
    assert (rolled["version"], rolled["action"]) == (2, "rollback")
    assert_whole(staged)


@pytest.mark.slow
def test_rollback_after_a_crash_finishes_the_change_then_rolls_it_back(
    staged: ModelRegistry, store: str, tmp_path: Path, run_edm: RunEdm
) -> None:
    """The hostile tester's case: after the kill, rollback said no earlier Production."""
    crash_promotion_at("move-2", tmp_path, store)
    rolled = run_edm("models", "rollback", "--reason", "after the crash")
    assert rolled.exit_code == 0, rolled.stderr
    assert "Rolled back. Version 1: Archived → Production" in rolled.stdout
    assert stages(staged) == {1: "Production", 2: "Archived", 3: "None"}
    assert [(e.version, e.action) for e in staged.history()[:2]] == [
        (1, "rollback"),
        (2, "promote"),
    ]
    assert_whole(staged)
