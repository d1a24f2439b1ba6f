"""A registered version serves on a machine that has never seen the repository.

``mlflow models serve -m models:/NAME/N`` with MLflow's default environment manager
(virtualenv) builds a fresh virtual environment from the version's own requirements, in a
folder of its own, and answers over HTTP. edm is not in those requirements (no package index
has our code under ``edm``): its code travels with the version (``code/edm`` of the MLflow
model), and this test checks that the fresh environment has no edm distribution at all.

Most of the time goes to installing the requirements (mlflow, onnxruntime, scipy...; a cnn
version carries its ONNX graph, so no torch): pip's cache keeps it to a few minutes.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from audio_material import write_material
from tests.servers import free_port, start_logged, stop, wait_for_http

from edm.inference.pipeline import File2Structure
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow

ENV_BUILD_TIMEOUT_S = 900.0


def test_mlflow_serves_a_version_from_its_own_fresh_environment(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    uri = str(tmp_path / "mlruns")
    registry = ModelRegistry(tracking_uri=uri, promotion_gate=None, download_dir=tmp_path / "dl")
    registry.log_model(tiny_checkpoint, "tiny", {"backbone": "cnn"}, {"best_val_loss": 0.5})
    wav = write_material(tmp_path, "four", 128.0, seconds=10.0)
    expected = File2Structure.from_checkpoint(registry.download_version(1))(wav).to_dict()

    env_root = tmp_path / "envs"
    elsewhere = tmp_path / "elsewhere"  # no checkout, no edm on any path
    elsewhere.mkdir()
    environment = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    environment |= {
        "MLFLOW_TRACKING_URI": f"sqlite:///{uri}/mlflow.db",
        "MLFLOW_ENV_ROOT": str(env_root),
    }
    port = free_port()
    mlflow_cli = str(Path(sys.executable).with_name("mlflow"))
    command = [mlflow_cli, "models", "serve", "-m", "models:/edm-structure-detector/1"]
    command += ["--host", "127.0.0.1", "-p", str(port)]
    log_file = tmp_path / "serve.log"
    started = time.monotonic()
    previous = Path.cwd()
    os.chdir(elsewhere)
    try:
        server = start_logged(command, log_file, env=environment)
    finally:
        os.chdir(previous)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/ping", server, log_file, ENV_BUILD_TIMEOUT_S)
        ready_s = time.monotonic() - started
        body = {"dataframe_split": {"columns": ["audio"], "data": [[_b64(wav)]]}}
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/invocations",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            [answer] = json.loads(response.read())["predictions"]
    finally:
        stop(server)
    print(f"fresh environment built and serving in {ready_s:.0f} s")
    assert answer["bpm"] == pytest.approx(expected["bpm"])
    assert answer["beats"] == pytest.approx(expected["beats"])
    assert [s["label"] for s in answer["sections"]] == [s["label"] for s in expected["sections"]]
    # MLflow built its own environment, and the edm in it is the version's shipped code. The
    # cnn answers with its registered ONNX graph: no torch (nor transformers) to install.
    [site] = list(env_root.glob("*/lib/python*/site-packages"))
    assert (site / "mlflow").is_dir() and (site / "onnxruntime").is_dir()
    assert not (site / "torch").exists() and not (site / "transformers").exists()
    assert not list(site.glob("edm*")), "edm must come with the version, not from an index"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
