"""ModelRegistry on a real SQLite store: the spec's workflow, its errors, and what it records."""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from tests.registry.conftest import CountingClient

import edm
from edm.code_version import source_commit, source_dirty
from edm.errors import (
    CheckpointNotFoundError,
    ConfigError,
    InvalidStageError,
    InvalidTransitionError,
    ModelVersionNotFoundError,
    NoProductionModelError,
    StoreError,
)
from edm.registry import ModelRegistry, Stage

LogVersions = Callable[[int], list[str]]


def stages(registry: ModelRegistry) -> dict[int, str]:
    return {m["version"]: m["stage"] for m in registry.list_models(max_results=100)}


def all_runs(registry: ModelRegistry) -> list:
    experiment = registry.client.get_experiment_by_name(registry.experiment_name)
    if experiment is None:
        return []
    return registry.client.search_runs([experiment.experiment_id], run_view_type=ViewType.ALL)


# ---------------------------------------------------------------- log_model


def test_log_model_records_run_and_registers_a_version(
    registry: ModelRegistry, checkpoint: Path
) -> None:
    run_id = registry.log_model(
        model_path=checkpoint,
        run_name="mert-95m-experiment",
        params={"backbone": "mert-95m", "learning_rate": 1e-4, "num_epochs": 50},
        metrics={"best_val_loss": 0.234},
        tags={"experiment": "baseline", "model_type": "custom"},
    )
    run = registry.client.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "mert-95m-experiment"
    assert run.data.params == {
        "backbone": "mert-95m",
        "learning_rate": "0.0001",
        "num_epochs": "50",
    }
    assert run.data.metrics == {"best_val_loss": 0.234}
    assert run.data.tags["experiment"] == "baseline"
    assert run.data.tags["model_type"] == "custom"  # the caller's tags win over defaults
    # The test runs outside any repository: the commit is still edm's own (edm.code_version).
    assert run.data.tags["git_commit"] == source_commit(short=True)
    artifacts = [a.path for a in registry.client.list_artifacts(run_id, "model")]
    assert artifacts == ["model/best.pt"]

    [version] = registry.client.search_model_versions(f"name='{registry.model_name}'")
    assert version.run_id == run_id
    assert version.source.endswith(f"{run_id}/artifacts/model")
    experiment = registry.client.get_experiment_by_name(registry.experiment_name)
    assert experiment is not None and run.info.experiment_id == experiment.experiment_id


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_local_store_uses_the_spec_layout(
    registry: ModelRegistry, checkpoint: Path, tmp_path: Path
) -> None:
    run_id = registry.log_model(checkpoint, "r", {}, {"best_val_loss": 1.0})
    assert (tmp_path / "mlruns" / "mlflow.db").is_file()
    stored = tmp_path / "mlartifacts" / run_id / "artifacts" / "model" / "best.pt"
    assert stored.read_bytes() == checkpoint.read_bytes()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_default_tags_name_edms_own_commit_not_the_current_folders(
    registry: ModelRegistry, checkpoint: Path, tmp_path: Path
) -> None:
    """Run from a user's own repository (the current folder), the run still names the commit
    of edm's code and whether edm's checkout is dirty, never the user's repository."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True
        ).stdout.strip()

    git("init", "-q")
    (tmp_path / "train.py").write_text("print('v1')\n")
    git("add", "train.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
    (tmp_path / "train.py").write_text("print('v2')\n")  # the user's folder is dirty
    tags = registry.client.get_run(registry.log_model(checkpoint, "mine", {}, {})).data.tags
    assert tags["git_commit"] == source_commit(short=True) != git("rev-parse", "--short", "HEAD")
    assert tags["mlflow.source.git.commit"] == source_commit()
    assert tags["git_dirty"] == str(source_dirty()).lower()
    assert tags["edm_version"] == edm.__version__
    assert tags["model_type"] == "multitask"


def test_missing_checkpoint_is_named_and_creates_nothing(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    with pytest.raises(CheckpointNotFoundError, match=r"nope\.pt"):
        registry.log_model(tmp_path / "nope.pt", "r", {}, {})
    assert registry.list_models() == []
    assert all_runs(registry) == []


def test_a_metric_that_is_not_a_number_is_named_and_creates_nothing(
    registry: ModelRegistry, checkpoint: Path
) -> None:
    with pytest.raises(ConfigError, match="best_val_loss"):
        registry.log_model(checkpoint, "r", {}, {"best_val_loss": "low"})
    assert all_runs(registry) == []


def test_a_failure_after_the_run_started_marks_it_failed(
    registry: ModelRegistry, checkpoint: Path
) -> None:
    with pytest.raises(StoreError, match="logging run 'r'"):
        registry.log_model(checkpoint, "r", {"bad key!": 1}, {})
    [run] = all_runs(registry)
    assert run.info.status == "FAILED"
    assert registry.list_models() == []


# ---------------------------------------------------------------- the spec's workflow


def test_spec_workflow_end_to_end(
    registry: ModelRegistry, log_versions: LogVersions, tmp_path: Path
) -> None:
    log_versions(3)
    assert stages(registry) == {3: "None", 2: "None", 1: "None"}

    registry.promote_model(1, "Production", reason="first model")
    registry.promote_model(2, "staging")
    assert stages(registry) == {3: "None", 2: "Staging", 1: "Production"}

    registry.promote_model(2, "production", reason="better val loss")
    assert stages(registry) == {3: "None", 2: "Production", 1: "Archived"}

    registry.promote_model(3, "Staging")
    registry.promote_model(3, "Production")
    assert stages(registry) == {3: "Production", 2: "Archived", 1: "Archived"}

    downloaded = registry.load_production_model()
    assert downloaded is not None and downloaded.suffix == ".pt"
    assert downloaded.parent.parent == tmp_path / "downloads"
    assert downloaded.read_bytes() == (tmp_path / "outputs" / "best.pt").read_bytes()

    entry = registry.rollback(reason="v3 mislabels drops")
    assert (entry.version, entry.action, entry.displaced_version) == (2, "rollback", 3)
    assert stages(registry) == {3: "Archived", 2: "Production", 1: "Archived"}

    # A second rollback goes one production version further back, not back to v3.
    registry.rollback()
    assert stages(registry) == {3: "Archived", 2: "Archived", 1: "Production"}
    with pytest.raises(NoProductionModelError, match="nothing to roll back to"):
        registry.rollback()


def test_stages_use_aliases_and_tags_not_the_deprecated_stage_api(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any FutureWarning from a deprecated API fails here
        registry.promote_model(1, "Production")
        registry.promote_model(2, "Production")
        registry.list_models()
        registry.get_model_info(1)
    model = registry.client.get_registered_model(registry.model_name)
    assert {alias: int(v) for alias, v in model.aliases.items()} == {"production": 2}
    archived = registry.client.get_model_version(registry.model_name, "1")
    assert archived.tags["archived"] == "true"
    assert archived.current_stage == "None"  # MLflow's own stage field is never touched


def test_promoting_an_archived_version_back_clears_its_archived_tag(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    registry.promote_model(1, "Production")
    registry.promote_model(2, "Production")
    registry.promote_model(1, "Production")
    assert stages(registry) == {2: "Archived", 1: "Production"}
    assert "archived" not in registry.client.get_model_version(registry.model_name, "1").tags


def test_archiving_the_production_version_leaves_no_production(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(1)
    registry.promote_model(1, "Production")
    registry.promote_model(1, "Archived", reason="retired")
    assert stages(registry) == {1: "Archived"}
    assert registry.load_production_model() is None
    registry.promote_model(1, "None")
    assert stages(registry) == {1: "None"}


def test_a_new_staging_version_sends_the_old_one_back_to_none(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    registry.promote_model(1, "Staging")
    entry = registry.promote_model(2, "Staging")
    assert entry is not None and entry.displaced_version == 1
    assert stages(registry) == {2: "Staging", 1: "None"}


def test_promoting_to_the_current_stage_changes_nothing(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(1)
    registry.promote_model(1, "Production")
    assert registry.promote_model(1, "PRODUCTION") is None
    assert len(registry.history()) == 1


# ---------------------------------------------------------------- promotion errors change nothing


def _snapshot(registry: ModelRegistry) -> tuple:
    model = registry.client.get_registered_model(registry.model_name)
    return stages(registry), dict(model.aliases), dict(model.tags)


def test_unknown_version_is_named_and_nothing_changes(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    registry.promote_model(1, "Production")
    before = _snapshot(registry)
    with pytest.raises(ModelVersionNotFoundError, match="version 42"):
        registry.promote_model(42, "Production")
    assert _snapshot(registry) == before


def test_invalid_stage_lists_valid_stages_and_nothing_changes(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    registry.promote_model(1, "Production")
    before = _snapshot(registry)
    with pytest.raises(
        InvalidStageError, match="valid stages are None, Staging, Production, Archived"
    ):
        registry.promote_model(2, "Prod")
    assert _snapshot(registry) == before


def test_production_version_cannot_move_down_to_staging(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(1)
    registry.promote_model(1, "Production")
    before = _snapshot(registry)
    with pytest.raises(InvalidTransitionError, match="version 1 is in Production"):
        registry.promote_model(1, "Staging")
    assert _snapshot(registry) == before


def test_rollback_without_production_is_an_error(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(1)
    with pytest.raises(NoProductionModelError, match="nothing to roll back"):
        registry.rollback()


def test_promotion_lock_is_released(registry: ModelRegistry, log_versions: LogVersions) -> None:
    log_versions(1)
    with pytest.raises(ModelVersionNotFoundError):
        registry.promote_model(7, "Production")
    registry.promote_model(1, "Production")
    found = registry.client.search_registered_models(f"name LIKE '{registry.model_name}%'")
    assert [m.name for m in found] == [registry.model_name]


# ---------------------------------------------------------------- audit trail


def test_audit_trail_records_who_when_what_and_why(
    registry: ModelRegistry,
    log_versions: LogVersions,
    make_registry: Callable[..., ModelRegistry],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    log_versions(2)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    registry.promote_model(1, "Production", reason="baseline")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "bob")
    registry.promote_model(2, "Production", reason="lower val loss")

    # A fresh client on the same store sees the same trail: it lives in the store.
    newest, oldest = make_registry().history()
    assert (newest.version, newest.from_stage, newest.to_stage) == (2, Stage.NONE, Stage.PRODUCTION)
    assert (newest.user, newest.reason, newest.displaced_version) == ("bob", "lower val loss", 1)
    assert (oldest.version, oldest.user, oldest.reason) == (1, "alice", "baseline")
    assert newest.timestamp >= oldest.timestamp
    assert (
        newest.timestamp.utcoffset() is not None
        and newest.timestamp.utcoffset().total_seconds() == 0
    )
    assert registry.history(limit=1) == [newest]


def test_history_of_an_empty_registry_is_empty(registry: ModelRegistry) -> None:
    assert registry.history() == []


# ---------------------------------------------------------------- reading


def test_list_models_is_newest_first_with_everything_the_table_needs(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    run_ids = log_versions(3)
    registry.promote_model(2, "Production")
    models = registry.list_models(max_results=2)
    assert [m["version"] for m in models] == [3, 2]
    newest = models[0]
    assert newest["run_id"] == run_ids[2]
    assert newest["run_name"] == "run-3"
    assert newest["metrics"]["best_val_loss"] == pytest.approx(1 / 3)
    assert newest["params"]["backbone"] == "cnn"
    assert newest["tags"]["experiment"] == "baseline"
    assert newest["created"].endswith("+00:00")
    assert models[1]["stage"] == "Production"


def test_list_models_on_an_empty_store(registry: ModelRegistry) -> None:
    assert registry.list_models() == []
    with pytest.raises(ConfigError, match="max_results"):
        registry.list_models(max_results=0)


def test_list_models_makes_a_constant_number_of_store_requests(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    def requests_for_listing() -> list[str]:
        counting = CountingClient(registry.client)
        registry.connection._client = counting  # type: ignore[assignment]
        try:
            registry.list_models(max_results=100)
        finally:
            registry.connection._client = counting._client  # type: ignore[assignment]
        return counting.calls

    log_versions(2)
    few = requests_for_listing()
    log_versions(10)
    many = requests_for_listing()
    assert len(registry.list_models(max_results=100)) == 12
    assert many == few
    assert "get_run" not in many
    assert len(many) <= 4


def test_get_model_info_has_everything_and_the_versions_audit(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    log_versions(2)
    registry.promote_model(1, "Production", reason="first")
    registry.promote_model(2, "Production", reason="second")
    info = registry.get_model_info(1)
    assert info is not None
    assert info["stage"] == "Archived"
    assert info["run_name"] == "run-1"
    assert info["run_status"] == "FINISHED"
    assert info["metrics"] == {"best_val_loss": 1.0, "best_epoch": 3.0}
    assert info["params"]["num_epochs"] == "5"
    assert info["tags"]["experiment"] == "baseline"
    assert info["description"] == "cnn backbone, best validation loss 1.0000"
    assert [(a["version"], a["to_stage"], a["reason"]) for a in info["audit"]] == [
        (2, "Production", "second"),  # archived version 1: involves it
        (1, "Production", "first"),
    ]


@pytest.mark.parametrize("version", [99, 0, -1, "abc"])
def test_get_model_info_of_a_missing_version_is_none(
    registry: ModelRegistry,
    log_versions: LogVersions,
    version: object,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log_versions(1)
    capsys.readouterr()
    assert registry.get_model_info(version) is None  # type: ignore[arg-type]
    assert capsys.readouterr() == ("", "")


def test_compare_marks_differences(registry: ModelRegistry, log_versions: LogVersions) -> None:
    log_versions(2)
    result = registry.compare(1, 2)
    assert result["versions"] == [1, 2]
    rows = {r["name"]: r for r in result["metrics"] + result["params"]}
    assert rows["best_val_loss"]["values"] == [1.0, 0.5]
    assert rows["best_val_loss"]["differs"] is True
    assert rows["best_epoch"]["differs"] is False
    assert rows["backbone"]["differs"] is False
    assert rows["learning_rate"]["differs"] is True
    with pytest.raises(ModelVersionNotFoundError, match="version 9"):
        registry.compare(1, 9)


def test_load_production_model_returns_none_then_downloads_where_asked(
    registry: ModelRegistry, log_versions: LogVersions, tmp_path: Path
) -> None:
    assert registry.load_production_model() is None
    log_versions(1)
    assert registry.load_production_model() is None
    registry.promote_model(1, "Production")
    path = registry.load_production_model(tmp_path / "elsewhere")
    assert path == tmp_path / "elsewhere" / f"{registry.model_name}-v1" / "best.pt"
    again = registry.load_production_model(tmp_path / "elsewhere")  # overwrites in place
    assert again == path and path.is_file()
    assert [p.name for p in (tmp_path / "elsewhere").iterdir()] == [f"{registry.model_name}-v1"]


def test_model_name_is_configurable(
    make_registry: Callable[..., ModelRegistry], checkpoint: Path, names: dict[str, str]
) -> None:
    registry = make_registry(model_name=names["model_name"] + "-beats-only")
    registry.log_model(checkpoint, "r", {}, {})
    client = MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)
    found = client.search_registered_models(f"name LIKE '{names['model_name']}%'")
    assert [m.name for m in found] == [names["model_name"] + "-beats-only"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_registry_leaves_the_process_environment_alone(
    registry: ModelRegistry, log_versions: LogVersions
) -> None:
    """A service runs many requests in one process: MLflow's settings are the entry point's."""
    from edm.registry.health import check_store

    def settings() -> dict[str, str]:
        # MLflow's own bookkeeping (``_MLFLOW_TELEMETRY_SESSION_ID``) is not edm's doing.
        return {k: v for k, v in os.environ.items() if not k.startswith("_MLFLOW_")}

    before = settings()
    log_versions(2)
    registry.promote_model(1, "Production")
    registry.load_production_model()
    registry.version_records()
    assert check_store(registry).reachable
    assert settings() == before
