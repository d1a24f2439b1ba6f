"""CLI conventions: --version, completion, Ctrl-C, piped output never cut, quiet libraries,
`edm ui` errors, --run-name kept inside --output."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm

from edm.registry import ModelRegistry


def _edm(*args: str, env: dict[str, str] | None = None, timeout: float = 120):
    return subprocess.run(
        [sys.executable, "-m", "edm", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


def test_version_and_completion(run_edm: RunEdm) -> None:
    from edm import __version__

    version = run_edm("--version")
    assert (version.exit_code, version.stdout) == (0, f"edm {__version__}\n")
    shown = run_edm("--show-completion", "bash")
    assert shown.exit_code == 0 and "_EDM_COMPLETE" in shown.stdout


@pytest.mark.slow
def test_ctrl_c_stops_a_command_with_one_line(tmp_path: Path) -> None:
    """Ctrl-C reaches the terminal's whole process group: the pool's workers too."""
    out = tmp_path / "synth"
    process = subprocess.Popen(
        [sys.executable, "-m", "edm", "data", "synth", str(out), "--tracks", "200",
         "--min-seconds", "30", "--max-seconds", "31"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not list(out.glob("*.yaml")) and time.monotonic() < deadline:
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130
    assert err.strip().splitlines() == ["Interrupted (Ctrl-C)."]
    assert len(list(out.glob("*.wav"))) < 200
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no half-written file


@pytest.mark.slow
def test_piped_output_is_never_cut(store_uri: str, tmp_path: Path) -> None:
    long_name = "a-very-long-run-name-" + "x" * 150
    registry = ModelRegistry(tracking_uri=store_uri)
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    registry.log_model(checkpoint, long_name, {}, {"best_val_loss": 0.5})
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = _edm("--tracking-uri", store_uri, "models", "list", env=env)
    assert done.returncode == 0, done.stderr
    assert long_name in done.stdout
    assert "…" not in done.stdout


def test_library_warnings_stay_off_the_screen() -> None:
    script = (
        "import sys, warnings, numpy as np\n"
        "from edm.cli import main as entry\n"
        "entry.quiet_library_noise(debug=False)\n"
        "np.log(np.zeros(1))\n"
        "warnings.warn('from a library', UserWarning)\n"
        "import logging; logging.getLogger('urllib3.connectionpool').warning('Retrying (...)')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and done.stderr == ""


def test_ui_errors_are_one_line_with_a_non_zero_exit(store_uri: str) -> None:
    bad_port = _edm("--tracking-uri", store_uri, "ui", "--port", "99999")
    assert bad_port.returncode == 1
    assert bad_port.stderr.strip().splitlines() == [
        "Error: --port 99999 is not a port number (1-65535)"
    ]
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = _edm("--tracking-uri", store_uri, "ui", "--port", str(port))
    assert in_use.returncode == 1
    assert in_use.stderr.strip().splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_run_name_cannot_leave_the_output_folder(run_edm: RunEdm, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("../../x", "a/b", "..", "/tmp/elsewhere"):
        result = run_edm("train", str(data), "--no-registry", "--run-name", name)
        assert result.exit_code == 1, name
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith("Error: training config field 'run_name'") and name in line
    assert not (tmp_path.parent.parent / "x").exists()
    assert not (tmp_path / "outputs").exists()


def test_commands_that_report_something_speak_json(
    run_edm: RunEdm, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    data = tmp_path / "data"
    synth = run_edm("data", "synth", str(data), "--tracks", "1", "--max-seconds", "30", "--json")
    assert synth.exit_code == 0, synth.stderr
    [track] = json.loads(synth.stdout)["tracks"]
    assert Path(track).name == "track_000.yaml"
    check = json.loads(run_edm("data", "check", str(data), "--json").stdout)
    assert check["usable_tracks"] == 1 and check["tracks_per_tier"]["1"] == 1
    digest = json.loads(run_edm("data", "hash", str(data), "--json").stdout)["dataset_hash"]
    assert digest == check["dataset_hash"]

    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes(b"weights")
    registry = ModelRegistry(tracking_uri=store_uri, promotion_gate=None)
    registry.log_model(checkpoint, "r", {}, {})
    registry.promote_model(1, "Production")
    monkeypatch.chdir(tmp_path)
    loaded = run_edm("--tracking-uri", store_uri, "models", "load-production", "--json")
    assert loaded.exit_code == 0, loaded.stderr
    document = json.loads(loaded.stdout)
    assert document["version"] == 1 and Path(document["checkpoint"]).read_bytes() == b"weights"
