"""`edm train` unchanged under torchrun: 2 CPU processes, gloo; only rank 0 logs and saves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from edm.registry import ModelRegistry


@pytest.mark.slow
def test_two_processes_train_one_registered_model(
    synth_data: Path, tmp_path: Path, store_uri: str
) -> None:
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [
            sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
            "-m", "edm", "--tracking-uri", store_uri, "train", str(synth_data),
            "--epochs", "2", "--batch-size", "4", "--crop-seconds", "8", "--no-progress",
            "--run-name", "ddp", "--output", str(tmp_path / "out"),
        ],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("Registered version 1") == 1  # rank 1 says nothing
    [model] = ModelRegistry(tracking_uri=store_uri).list_models()
    assert model["params"]["world_size"] == "2"
    assert model["run_name"] == "ddp"
    assert sorted(p.name for p in (tmp_path / "out" / "ddp").glob("*.pt")) == ["best.pt", "last.pt"]
