from __future__ import annotations

from pathlib import Path

import pytest

from edm.errors import ConfigError
from edm.settings import (
    current_user,
    mlflow_environment_defaults,
    mlflow_fail_fast_environment,
    redact_uri,
    resolve_store,
)


def test_default_store_follows_the_spec_layout(tmp_path: Path) -> None:
    store = resolve_store()
    assert store.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert store.artifact_root == (tmp_path / "mlartifacts").as_uri()
    assert store.local_dir == tmp_path / "mlruns"


def test_environment_variable_is_used_and_an_explicit_uri_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert resolve_store().tracking_uri == "http://127.0.0.1:5999"
    assert resolve_store(str(tmp_path / "team")).tracking_uri.startswith("sqlite:///")


@pytest.mark.parametrize("given", ["./mlruns", "mlruns", "file://{tmp}/mlruns"])
def test_a_directory_means_the_local_store(given: str, tmp_path: Path) -> None:
    store = resolve_store(given.format(tmp=tmp_path))
    assert store.tracking_uri == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert store.artifact_root == (tmp_path / "mlartifacts").as_uri()


def test_a_directory_not_named_mlruns_keeps_its_artifacts_inside(tmp_path: Path) -> None:
    store = resolve_store(str(tmp_path / "elsewhere"))
    assert store.artifact_root == (tmp_path / "elsewhere" / "mlartifacts").as_uri()


@pytest.mark.parametrize(
    "uri",
    [
        "sqlite:////data/mlruns/mlflow.db",
        "postgresql://edm:secret@db.example:5432/mlflow",
        "postgresql+psycopg2://edm@localhost/mlflow",
        "http://127.0.0.1:5000",
        "https://mlflow.example.com",
    ],
)
def test_store_uris_pass_through_unchanged(uri: str) -> None:
    assert resolve_store(uri).tracking_uri == uri


def test_sqlite_store_keeps_artifacts_beside_mlruns() -> None:
    assert (
        resolve_store("sqlite:////data/mlruns/mlflow.db").artifact_root
        == "file:///data/mlartifacts"
    )


def test_artifact_root_can_be_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDM_ARTIFACT_ROOT", "s3://bucket/edm")
    assert resolve_store("postgresql://db/mlflow").artifact_root == "s3://bucket/edm"
    assert resolve_store("mlruns").artifact_root == "s3://bucket/edm"


@pytest.mark.parametrize("uri", ["ftp://host/x", "sqlite://", "sqlite:///:memory:", "  "])
def test_unusable_uris_are_rejected_by_name(uri: str) -> None:
    with pytest.raises(ConfigError, match="tracking URI"):
        resolve_store(uri)


def test_passwords_are_redacted() -> None:
    assert (
        redact_uri("postgresql://edm:s3cr3t@db:5432/mlflow")
        == "postgresql://edm:***@db:5432/mlflow"
    )
    assert redact_uri("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert "s3cr3t" not in resolve_store("postgresql://edm:s3cr3t@db/mlflow").display_uri


def test_current_user_prefers_the_tracking_username(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    assert current_user() == "alice"
    monkeypatch.delenv("MLFLOW_TRACKING_USERNAME")
    assert current_user() not in ("", "alice")


def test_mlflow_settings_for_entry_points_quiet_mlflow_and_fail_fast() -> None:
    quiet = mlflow_environment_defaults()
    assert quiet["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] == "false"
    assert quiet["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] == "true"
    assert quiet["MLFLOW_LOGGING_LEVEL"] == "WARNING"
    assert mlflow_environment_defaults(debug=True)["MLFLOW_LOGGING_LEVEL"] == "DEBUG"
    assert mlflow_fail_fast_environment(2.5) == {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": "2",
    }
    assert mlflow_fail_fast_environment(0.2)["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "1"
