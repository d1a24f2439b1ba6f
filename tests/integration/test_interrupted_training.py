"""SIGTERM (timeout, systemd, docker stop, Kubernetes) and Ctrl-C end a training run KILLED,
keeping its last checkpoint, with one line on stderr."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.mark.slow
def test_sigterm_ends_the_run_killed_and_keeps_the_last_checkpoint(
    store_uri: str, tmp_path: Path
) -> None:
    """Ctrl-C takes the same path (a KeyboardInterrupt): tests/cli/test_conventions.py."""
    data = tmp_path / "data"
    write_synthetic_dataset(data, 3, seed=3, config=SynthConfig(min_seconds=30, max_seconds=31))
    last = tmp_path / "outputs" / "stopped" / "last.pt"
    process = subprocess.Popen(
        [sys.executable, "-m", "edm", "--tracking-uri", store_uri, "train", str(data),
         "--epochs", "500", "--batch-size", "4", "--crop-seconds", "4", "--run-name", "stopped",
         "--no-progress"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not last.is_file() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert last.is_file(), process.stderr.read() if process.poll() is not None else "slow"
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert err.strip().splitlines() == [
        f"Interrupted (SIGTERM): the run ended KILLED; last checkpoint {last.relative_to(tmp_path)}"
    ]

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store_uri}/mlflow.db")
    experiment = client.get_experiment_by_name("edm-training")
    (run,) = client.search_runs([experiment.experiment_id])
    assert (run.info.run_name, run.info.status) == ("stopped", "KILLED")
    assert run.info.end_time is not None
    import torch

    assert torch.load(last, weights_only=True)["epoch"] >= 0  # a whole checkpoint, loadable
