from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from edm.registry import ModelRegistry

NO_HEAVY_IMPORTS = """
import sys
sys.argv = {argv!r}
from edm.cli.main import main
try:
    main()
except SystemExit as exit_:
    assert exit_.code in (0, None), exit_.code
heavy = sorted(m for m in ("mlflow", "torch", "transformers") if m in sys.modules)
assert not heavy, f"imported at start-up: {{heavy}}"
"""


@pytest.mark.parametrize(
    "argv", [["edm", "--help"], ["edm", "models", "--help"], ["edm", "models", "promote", "--help"]]
)
def test_help_imports_neither_mlflow_nor_torch(argv: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-c", NO_HEAVY_IMPORTS.format(argv=argv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage: edm" in done.stdout


def test_console_script_reports_errors_in_one_line(store_uri: str) -> None:
    edm = Path(sys.executable).with_name("edm")
    done = subprocess.run(
        [str(edm), "--tracking-uri", store_uri, "models", "promote", "3", "Production"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: model version 3 of 'edm-structure-detector' does not exist"
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_edm_ui_serves_the_store_the_cli_uses(store_uri: str, checkpoint: Path) -> None:
    run_id = ModelRegistry(tracking_uri=store_uri).log_model(
        checkpoint, "shown-in-ui", {}, {"best_val_loss": 0.1}
    )
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "edm", "--tracking-uri", store_uri, "ui", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/ajax-api/2.0/mlflow/registered-models/search"
        deadline = time.monotonic() + 90
        body = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    body = json.load(response)
                break
            except OSError:
                time.sleep(0.5)
        assert body is not None, (
            server.stdout.read().decode() if server.poll() is not None else "no answer"
        )
        assert [m["name"] for m in body["registered_models"]] == ["edm-structure-detector"]
        artifact = f"http://127.0.0.1:{port}/get-artifact?path=model/best.pt&run_uuid={run_id}"
        with urllib.request.urlopen(artifact, timeout=10) as response:
            assert response.read() == checkpoint.read_bytes()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
