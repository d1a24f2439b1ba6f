"""An unreachable store fails fast with one line; a store password never shows: not in
output, not on a command line (`ps`), whether in the URI's user info or its query string."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.servers import PostgresServer

from edm.registry.store import scrub
from edm.settings import redact_uri, resolve_store

SECRET = "s3cr3t-Pw"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redaction_covers_user_info_and_query_strings() -> None:
    cases = {
        f"postgresql://edm:{SECRET}@db:5432/mlflow": "postgresql://edm:***@db:5432/mlflow",
        f"postgresql://db/mlflow?user=edm&password={SECRET}&sslmode=require": (
            "postgresql://db/mlflow?user=edm&password=***&sslmode=require"
        ),
        f"postgresql://edm@db/mlflow?sslpassword={SECRET}": (
            "postgresql://edm@db/mlflow?sslpassword=***"
        ),
        f"https://host/?token={SECRET}": "https://host/?token=***",
        "http://127.0.0.1:5000": "http://127.0.0.1:5000",
    }
    for uri, shown in cases.items():
        assert redact_uri(uri) == shown
        if SECRET in uri:
            location = resolve_store(uri)
            assert SECRET not in scrub(f"could not connect to {uri}: {SECRET} refused", location)


@pytest.mark.parametrize(
    "uri",
    [
        f"postgresql://edm:{SECRET}@127.0.0.1:{{port}}/mlflow",
        f"postgresql://127.0.0.1:{{port}}/mlflow?user=edm&password={SECRET}",
        "http://127.0.0.1:{port}",
    ],
    ids=["postgres-userinfo", "postgres-query", "http"],
)
def test_a_closed_port_fails_fast_with_one_line(uri: str) -> None:
    uri = uri.format(port=_closed_port())
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "edm", "--tracking-uri", uri, "models", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: the tracking store cannot be reached")
    assert SECRET not in done.stderr + done.stdout
    assert took < 30, took  # ~3 s here; MLflow alone retried for ~100 s


@pytest.mark.slow
def test_an_unroutable_address_fails_within_about_15_s() -> None:
    uri = f"postgresql://edm:{SECRET}@10.255.255.1:5432/mlflow?connect_timeout=60"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "edm", "--tracking-uri", uri, "models", "list"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    took = time.monotonic() - started
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert SECRET not in done.stderr
    assert took < 20, took


def _command_lines_of(pid: int) -> list[str]:
    """The command line of a process and of all its descendants, as `ps` shows them."""
    lines, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            lines.append(
                Path(f"/proc/{current}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            )
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(child) for child in children]
    return lines


@pytest.mark.slow
def test_edm_ui_keeps_the_password_off_every_command_line(
    postgres_server: PostgresServer, postgres_template: str
) -> None:
    uri = postgres_server.uri(postgres_server.create_database(template=postgres_template))
    port = _closed_port()
    process = subprocess.Popen(  # the password in the environment, as a user would keep it
        [sys.executable, "-m", "edm", "ui", "--port", str(port)],
        env={**os.environ, "MLFLOW_TRACKING_URI": uri},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            seen += _command_lines_of(process.pid)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break  # the server listens: its workers are up
            except OSError:
                time.sleep(0.3)
        seen += _command_lines_of(process.pid)
        assert process.poll() is None, process.stdout.read().decode()
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    assert any("mlflow" in line for line in seen)
    assert not [line for line in seen if postgres_server.password in line]
    assert postgres_server.password not in output
