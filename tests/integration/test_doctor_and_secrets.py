"""`edm doctor` on every kind of store, and passwords that never show: not in CLI output, logs,
run tags or params."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.servers import MlflowServer, PostgresServer, free_port

from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture
def postgres_uri(postgres_server: PostgresServer, postgres_template: str) -> str:
    return postgres_server.uri(postgres_server.create_database(template=postgres_template))


def test_doctor_reports_a_local_store(run_edm: RunEdm, checkpoint: Path, tmp_path: Path) -> None:
    registry = ModelRegistry(promotion_gate=None)  # doctor's test, not the gate's
    registry.log_model(checkpoint, "r", {}, {})
    registry.promote_model(1, "Production")
    result = run_edm("doctor", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["tracking_uri"] == f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    assert report["artifact_location"] == (tmp_path / "mlartifacts").as_uri()
    assert (report["reachable"], report["production"], report["staging"]) == (True, 1, None)
    table = run_edm("doctor").stdout
    assert "Reachable" in table and "version 1" in table


def test_doctor_on_postgresql_and_the_server_hides_the_password(
    run_edm: RunEdm, postgres_uri: str, postgres_server: PostgresServer, mlflow_server: MlflowServer
) -> None:
    result = run_edm("--tracking-uri", postgres_uri, "doctor")
    assert result.exit_code == 0, result.stderr
    assert postgres_server.password not in result.stdout + result.stderr
    assert "edm:***@127.0.0.1" in result.stdout
    served = run_edm("--tracking-uri", mlflow_server.url, "doctor", "--json")
    assert served.exit_code == 0
    assert json.loads(served.stdout)["reachable"] is True


@pytest.mark.parametrize("scheme", ["postgresql", "http"])
def test_doctor_fails_fast_with_the_reason_when_unreachable(run_edm: RunEdm, scheme: str) -> None:
    port = free_port()  # nothing listens there
    uri = (
        f"postgresql://edm:hunter2secret@127.0.0.1:{port}/mlflow"
        if scheme == "postgresql"
        else f"http://127.0.0.1:{port}"
    )
    started = time.monotonic()
    result = run_edm("--tracking-uri", uri, "doctor")
    assert time.monotonic() - started < 30
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: the tracking store is unreachable:")
    assert "hunter2secret" not in result.stdout + result.stderr


def test_a_password_in_the_uri_is_never_printed_logged_or_recorded(
    run_edm: RunEdm,
    postgres_uri: str,
    postgres_server: PostgresServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = postgres_server.password
    data = tmp_path / "data"
    write_synthetic_dataset(data, 3, seed=5, config=SynthConfig(min_seconds=40, max_seconds=45))
    caplog.set_level(logging.DEBUG)
    outputs = [
        run_edm(
            "--tracking-uri",
            postgres_uri,
            "train",
            str(data),
            "--epochs",
            "1",
            "--batch-size",
            "4",
            "--crop-seconds",
            "6",
            "--no-progress",
            "--tag",
            "experiment=secrets",
        ),
        run_edm("--tracking-uri", postgres_uri, "models", "list"),
        run_edm("--tracking-uri", postgres_uri, "models", "info", "1", "--json"),
        run_edm("--tracking-uri", postgres_uri, "models", "promote", "7", "Production"),
        run_edm("--tracking-uri", postgres_uri, "doctor"),
    ]
    assert [o.exit_code for o in outputs] == [0, 0, 0, 1, 0]
    for output in outputs:
        assert secret not in output.stdout + output.stderr
    assert all(secret not in record.getMessage() for record in caplog.records)

    registry = ModelRegistry(tracking_uri=postgres_uri)
    [model] = registry.list_models()
    recorded = json.dumps([model["tags"], model["params"], model["version_tags"]])
    assert "experiment" in recorded and secret not in recorded
    assert "127.0.0.1" not in recorded  # nor the URI at all


def test_a_password_in_the_environment_is_never_printed_or_recorded(
    run_edm: RunEdm,
    postgres_server: PostgresServer,
    postgres_template: str,
    checkpoint: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    database = postgres_server.create_database(template=postgres_template)
    server = MlflowServer(
        postgres_server.uri(database), str(tmp_path_factory.mktemp("a")), basic_auth=True
    ).start()
    try:
        secret = "env-secret-" + str(free_port())
        server.create_user("carol", secret)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "carol")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secret)
        monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
        registry = ModelRegistry(model_name="carol-model", experiment_name="carol")
        registry.log_model(checkpoint, "carol-run", {"backbone": "cnn"}, {"best_val_loss": 0.1})
        monkeypatch.setenv("EDM_MODEL_NAME", "carol-model")
        outputs = [run_edm("models", "list"), run_edm("models", "info", "1"), run_edm("doctor")]
        assert [o.exit_code for o in outputs] == [0, 0, 0]
        assert all(secret not in o.stdout + o.stderr for o in outputs)
        [model] = registry.list_models()
        assert secret not in json.dumps([model["tags"], model["params"], model["version_tags"]])
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", secret + "-wrong")
        denied = run_edm("models", "list")
        assert denied.exit_code == 1 and secret not in denied.stderr
    finally:
        server.stop()
