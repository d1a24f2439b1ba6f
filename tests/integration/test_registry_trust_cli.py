"""The registry's trust through the CLI on a real SQLite store: ``--json`` on promote,
rollback, history and repair; ``history --verify`` and its exit code; alias drift shown by
``history``, flagged by ``doctor`` and recorded by ``repair``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from tests.cli_runner import RunEdm
from tests.gate_helpers import GOOD, evaluated_on

from edm.registry import ModelRegistry
from edm.registry.audit import AUDIT_TAG_PREFIX


@pytest.fixture
def two_versions(
    tmp_path: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> ModelRegistry:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlruns"))
    registry = ModelRegistry()
    for i, score in enumerate([0.7, 0.9], start=1):
        registry.log_model(checkpoint, f"run-{i}", {}, {})
        evaluated_on(registry, i, "holdout", ("h1", "h2"), **{**GOOD, "boundary_f_0.5": score})
    return registry


def own_client(registry: ModelRegistry) -> MlflowClient:
    return MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)


def test_promote_rollback_history_and_repair_speak_json(
    run_edm: RunEdm, two_versions: ModelRegistry
) -> None:
    first = json.loads(run_edm("models", "promote", "1", "Production", "--json").stdout)
    assert first["changed"] is True
    assert (first["entry"]["version"], first["entry"]["action"], first["entry"]["seq"]) == (
        1,
        "promote",
        1,
    )
    again = json.loads(run_edm("models", "promote", "1", "Production", "--json").stdout)
    assert again == {"changed": False, "entry": None}
    run_edm("models", "promote", "2", "Production")
    back = json.loads(run_edm("models", "promote", "1", "Production", "--json").stdout)
    assert back["entry"]["action"] == "rollback"  # 0.7 < 0.9, yet no --force: v1 was Production
    run_edm("models", "promote", "2", "Production")
    rolled = json.loads(run_edm("models", "rollback", "-r", "drops", "--json").stdout)
    assert (rolled["entry"]["version"], rolled["entry"]["reason"]) == (1, "drops")
    entries = json.loads(run_edm("models", "history", "--json").stdout)
    assert [e["action"] for e in entries] == [
        "rollback",
        "rollback",
        "rollback",
        "promote",
        "promote",
    ]
    verified = json.loads(run_edm("models", "history", "--verify", "--json").stdout)
    assert verified["verification"] == {"ok": True, "entries": 5, "chained": 5, "problems": []}
    assert verified["drift"] == []
    repaired = json.loads(run_edm("models", "repair", "--json").stdout)
    assert (repaired["finished"], repaired["external"], repaired["broken_locks"]) == ([], [], [])


def test_history_verify_fails_on_an_edited_trail(
    run_edm: RunEdm, two_versions: ModelRegistry
) -> None:
    two_versions.promote_model(1, "Production", reason="first")
    two_versions.promote_model(2, "Production", reason="second")
    assert "chain is whole" in run_edm("models", "history", "--verify").stdout
    client = own_client(two_versions)
    tags = client.get_registered_model(two_versions.model_name).tags
    key = min(k for k in tags if k.startswith(AUDIT_TAG_PREFIX))
    client.set_registered_model_tag(
        two_versions.model_name, key, tags[key].replace("by tester", "by mallory")
    )
    result = run_edm("models", "history", "--verify")
    assert result.exit_code == 1
    assert "audit trail edited: entry #1 (v1 → Production) was changed" in result.stderr
    assert run_edm("models", "history").exit_code == 0  # without --verify: shown, not judged
    doctor = run_edm("doctor")
    assert doctor.exit_code == 1
    assert "see 'edm models history --verify'" in doctor.stderr
    assert run_edm("models", "repair").exit_code == 1  # repair cannot undo an edit


def test_an_alias_set_with_mlflows_client_is_shown_flagged_and_recorded(
    run_edm: RunEdm, two_versions: ModelRegistry
) -> None:
    two_versions.promote_model(1, "Production")
    assert run_edm("doctor").exit_code == 0
    own_client(two_versions).set_registered_model_alias(two_versions.model_name, "production", "2")

    history = run_edm("models", "history")
    assert "Not in the trail: Production is on version 2 but the audit trail says version 1" in (
        " ".join(history.stdout.split())
    )
    doctor = run_edm("doctor")
    assert doctor.exit_code == 1
    assert "Alias drift: Production is on version 2" in doctor.stdout
    assert "run 'edm models repair'" in doctor.stderr
    assert json.loads(run_edm("doctor", "--json").stdout)["registry"]["drift"] == [
        {"stage": "Production", "recorded": 1, "actual": 2}
    ]

    repaired = run_edm("models", "repair")
    assert repaired.exit_code == 0
    assert "Recorded a change made outside edm. Version 2: None → Production" in repaired.stdout
    [external, _] = json.loads(run_edm("models", "history", "--json").stdout)
    assert (external["action"], external["user"], external["version"]) == (
        "external",
        "outside edm",
        2,
    )
    assert run_edm("doctor").exit_code == 0
