"""Against `mlflow server --app-name basic-auth`: the audit trail names the authenticated
user, and a user without permission gets a one-line error and changes nothing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.gate_helpers import GOOD, evaluated_on
from tests.servers import MlflowServer, PostgresServer

from edm.errors import PermissionDeniedError
from edm.registry import ModelRegistry

USERS = {"alice": "alice-" + secrets.token_hex(6), "bob": "bob-" + secrets.token_hex(6)}


@pytest.fixture(scope="module")
def auth_server(
    postgres_server: PostgresServer,
    postgres_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MlflowServer]:
    database = postgres_server.create_database(template=postgres_template)
    server = MlflowServer(
        postgres_server.uri(database),
        str(tmp_path_factory.mktemp("auth-artifacts")),
        basic_auth=True,
    ).start()
    for user, password in USERS.items():
        server.create_user(user, password)
    yield server
    server.stop()


def login(monkeypatch: pytest.MonkeyPatch, user: str) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", USERS[user])


def test_audit_records_the_authenticated_user_and_others_are_refused(
    auth_server: MlflowServer, checkpoint: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    names = {"model_name": "auth-model", "experiment_name": "auth-experiment"}
    login(monkeypatch, "alice")
    alice = ModelRegistry(tracking_uri=auth_server.url, **names)
    for i, boundaries in enumerate([0.7, 0.8], start=1):  # scored on the same held-out tracks
        alice.log_model(checkpoint, f"alice-run-{i}", {"backbone": "cnn"}, {})
        evaluated_on(alice, i, "holdout", ("h1", "h2"), **{**GOOD, "boundary_f_0.5": boundaries})
    alice.promote_model(1, "Production", reason="first")
    [entry] = alice.history()
    assert entry.user == "alice"

    login(monkeypatch, "bob")  # bob may read (the server's default) but not change the model
    bob = ModelRegistry(tracking_uri=auth_server.url, **names)
    assert [m["version"] for m in bob.list_models()] == [2, 1]
    with pytest.raises(PermissionDeniedError, match="permission denied for user 'bob'"):
        bob.promote_model(2, "Production", reason="not mine")
    assert {m["version"]: m["stage"] for m in bob.list_models()} == {2: "None", 1: "Production"}
    assert len(bob.history()) == 1
    assert bob.client.search_registered_models("name LIKE 'auth-model.%'") == []  # lock released

    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "edm",
            "--tracking-uri",
            auth_server.url,
            "models",
            "promote",
            "2",
            "Production",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "EDM_MODEL_NAME": "auth-model"},
    )
    assert cli.returncode == 1
    assert cli.stderr.strip().splitlines() == [
        f"Error: promoting version 2: permission denied for user 'bob' on {auth_server.url}"
    ]


def test_a_wrong_password_is_a_one_line_error(
    auth_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong-password")
    with pytest.raises(PermissionDeniedError, match="user 'alice'") as caught:
        ModelRegistry(tracking_uri=auth_server.url, model_name="auth-model").list_models()
    assert "wrong-password" not in str(caught.value)
