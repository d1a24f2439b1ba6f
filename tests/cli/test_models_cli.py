"""``edm models …`` end to end on a real SQLite store, driven through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.gate_helpers import GOOD, evaluated_on

from edm.registry import ModelRegistry


@pytest.fixture
def three_versions(
    store_uri: str, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> ModelRegistry:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)
    registry = ModelRegistry()
    for i, backbone in enumerate(["cnn", "mert-95m", "cnn"], start=1):
        registry.log_model(
            checkpoint,
            f"run_2026112{i}_cnn_try{i}",
            params={"backbone": backbone, "learning_rate": 10.0**-i},
            metrics={"best_val_loss": 0.5 / i},
        )
        scores = {**GOOD, "boundary_f_0.5": 0.5 + 0.1 * i}  # boundaries 0.6, 0.7, 0.8
        evaluated_on(registry, i, "holdout", ("h1", "h2"), **scores)
    return registry


def test_empty_registry_says_no_models_found_with_the_hint(run_edm: RunEdm, store_uri: str) -> None:
    result = run_edm("--tracking-uri", store_uri, "models", "list")
    assert result.exit_code == 0
    assert "No models found" in result.stdout
    assert "mlflow experiments search" in result.stdout
    assert "edm-training" in result.stdout


def test_list_shows_the_spec_columns(run_edm: RunEdm, three_versions: ModelRegistry) -> None:
    three_versions.promote_model(2, "Production")
    result = run_edm("models", "list")
    assert result.exit_code == 0, result.stderr
    for column in ("Version", "Stage", "Run name", "Val loss", "Backbone", "Created"):
        assert column in result.stdout
    lines = result.stdout.splitlines()
    row_v2 = next(line for line in lines if "run_20261122_cnn_try2" in line)
    assert (
        "Production" in row_v2 and "0.25" in row_v2 and "mert-95m" in row_v2 and "2026-" in row_v2
    )
    assert lines.index(row_v2) > next(i for i, line in enumerate(lines) if "try3" in line)


def test_list_max_results_and_json(run_edm: RunEdm, three_versions: ModelRegistry) -> None:
    result = run_edm("models", "list", "--max-results", "2", "--json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [m["version"] for m in data] == [3, 2]
    assert data[0]["metrics"]["best_val_loss"] == pytest.approx(0.5 / 3)


def test_info_as_table_and_json(run_edm: RunEdm, three_versions: ModelRegistry) -> None:
    three_versions.promote_model(3, "Staging", reason="candidate")
    table = run_edm("models", "info", "3")
    assert table.exit_code == 0
    for text in (
        "Staging",
        "run_20261123_cnn_try3",
        "best_val_loss",
        "learning_rate",
        "git_commit",
        "candidate",
        "bare checkpoint",  # the fixture's file is not an edm checkpoint: no MLflow model
    ):
        assert text in table.stdout
    data = json.loads(run_edm("models", "info", "3", "--json").stdout)
    assert data["stage"] == "Staging"
    assert data["kind"] == "checkpoint" and data["model_id"] is None
    assert data["audit"][0]["reason"] == "candidate"


def test_promote_history_rollback_compare_and_download(
    run_edm: RunEdm, three_versions: ModelRegistry, tmp_path: Path
) -> None:
    assert run_edm("models", "promote", "1", "production", "--reason", "first").exit_code == 0
    promoted = run_edm("models", "promote", "2", "Production", "--reason", "better")
    assert "Version 2: None → Production (version 1 → Archived)" in promoted.stdout
    assert "already in that stage" in run_edm("models", "promote", "2", "production").stdout

    history = json.loads(run_edm("models", "history", "--json").stdout)
    assert [(e["version"], e["to_stage"], e["reason"], e["user"]) for e in history] == [
        (2, "Production", "better", "tester"),
        (1, "Production", "first", "tester"),
    ]
    assert "better" in run_edm("models", "history").stdout

    rolled = run_edm("models", "rollback", "--reason", "regression")
    assert rolled.exit_code == 0
    assert "Rolled back. Version 1: Archived → Production" in rolled.stdout

    compared = run_edm("models", "compare", "1", "2")
    assert compared.exit_code == 0
    assert "≠" in compared.stdout and "learning_rate" in compared.stdout
    assert json.loads(run_edm("models", "compare", "1", "2", "--json").stdout)["versions"] == [1, 2]

    downloaded = run_edm("models", "load-production", "--output", str(tmp_path / "dl"))
    assert downloaded.exit_code == 0
    path = Path(downloaded.stdout.strip())
    assert path == tmp_path / "dl" / "edm-structure-detector-v1" / "best.pt" and path.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["models", "promote", "42", "Production"],
            "model version 42 of 'edm-structure-detector' does not exist",
        ),
        (
            ["models", "promote", "1", "Prod"],
            "valid stages are None, Staging, Production, Archived",
        ),
        (["models", "info", "42"], "model version 42"),
        (["models", "compare", "1", "42"], "model version 42"),
        (["models", "rollback"], "no version of 'edm-structure-detector' is in Production"),
        (["models", "load-production"], "no version of 'edm-structure-detector' is in Production"),
        (
            ["--tracking-uri", "ftp://nowhere", "models", "list"],
            "unsupported tracking URI scheme 'ftp'",
        ),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_1(
    run_edm: RunEdm, three_versions: ModelRegistry, args: list[str], message: str
) -> None:
    result = run_edm(*args)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert three_versions.history() == []  # nothing changed


def test_usage_errors_exit_2(run_edm: RunEdm, three_versions: ModelRegistry) -> None:
    assert run_edm("models", "promote", "1").exit_code == 2
    assert run_edm("models", "info", "one").exit_code == 2
    assert run_edm("models", "list", "--max-results", "0").exit_code == 2


def test_edm_debug_shows_the_traceback(
    run_edm: RunEdm, three_versions: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edm.errors import ModelVersionNotFoundError

    monkeypatch.setenv("EDM_DEBUG", "1")
    with pytest.raises(ModelVersionNotFoundError):
        run_edm("models", "promote", "42", "Production")


def test_global_tracking_uri_option_beats_the_environment(
    run_edm: RunEdm, three_versions: ModelRegistry, tmp_path: Path
) -> None:
    other = run_edm("--tracking-uri", str(tmp_path / "other"), "models", "list")
    assert "No models found" in other.stdout
    assert "run_20261121_cnn_try1" in run_edm("models", "list").stdout


def test_the_gate_blocks_a_worse_model_and_force_overrides_it(
    run_edm: RunEdm, three_versions: ModelRegistry
) -> None:
    assert run_edm("models", "promote", "3", "Production").exit_code == 0  # no production
    refused = run_edm("models", "promote", "2", "Production")
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0].split() == ["metric", "v3", "v2", "rule", "verdict"]
    assert refused.stderr.splitlines()[-1].startswith(
        "Error: version 2 fails the promotion gate on boundary_f_0.5 (against production "
        "version 3, both evaluated on holdout, 2 tracks, digest "
    )
    assert "boundary_f_0.5  0.800  0.700  not worse  FAIL" in refused.stderr
    loose = run_edm("models", "promote", "2", "Production", "--require", "boundary_f_0.5>=")
    assert loose.exit_code == 1 and "--require 'boundary_f_0.5>='" in loose.stderr
    no_reason = run_edm("models", "promote", "2", "Production", "--force")
    assert no_reason.exit_code == 1 and "needs a reason" in no_reason.stderr
    forced = run_edm("models", "promote", "2", "Production", "--force", "--reason", "hotfix")
    assert forced.exit_code == 0 and "(forced)" in forced.stdout
    [entry, _] = json.loads(run_edm("models", "history", "--json").stdout)
    assert (entry["version"], entry["forced"], entry["reason"]) == (2, True, "hotfix")
