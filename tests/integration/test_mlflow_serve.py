"""MLflow's own server serves an edm version: `mlflow models serve` on loopback answers
/invocations with a real WAV, and refuses what is not audio with a 4xx naming the problem.
Also: a version registered through a tracking server loads with mlflow.pyfunc."""

from __future__ import annotations

import base64
import json
import os
import signal
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from tests.servers import free_port, start_logged, wait_for_http
from tests.tiny_model import tiny_cnn_checkpoint

from edm.inference.pipeline import File2Structure
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from audio_material import write_material  # noqa: E402


def _invocations(url: str, audio: bytes) -> tuple[int, dict]:
    body = {"dataframe_split": {"columns": ["audio"], "data": [[base64.b64encode(audio).decode()]]}}
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_mlflow_models_serve_answers_with_the_production_version(tmp_path: Path) -> None:
    store = tmp_path / "mlruns"
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None)
    checkpoint = tiny_cnn_checkpoint(tmp_path / "best.pt")
    registry.log_model(checkpoint, "tiny", {"backbone": "cnn"}, {"best_val_loss": 0.5})
    registry.promote_model(1, "Production")
    wav = write_material(tmp_path, "click", 124.0, seconds=10.0)

    port = free_port()
    venv_bin = str(Path(sys.executable).parent)
    env = os.environ | {
        "MLFLOW_TRACKING_URI": registry.tracking_uri,
        "PATH": venv_bin + os.pathsep + os.environ.get("PATH", ""),  # it execs uvicorn
    }
    command = [
        sys.executable, "-m", "mlflow", "models", "serve",
        "-m", "models:/edm-structure-detector@production",
        "--env-manager", "local", "--host", "127.0.0.1", "-p", str(port),
    ]  # fmt: skip
    log = tmp_path / "serve.log"
    process = start_logged(command, log, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/ping", process, log, timeout=180)
        status, answer = _invocations(url, wav.read_bytes())
        assert status == 200, answer
        [prediction] = answer["predictions"]
        expected = File2Structure.from_checkpoint(checkpoint)(wav).to_dict()
        assert prediction == expected

        status, answer = _invocations(url, b"GIF89a, not a sound")
        assert status == 400, answer
        assert "input row 0: not a supported audio file" in answer["message"]
        assert "Traceback" not in json.dumps(answer)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_a_version_registered_through_a_tracking_server_loads_with_pyfunc(
    mlflow_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    name = f"edm-serve-{uuid.uuid4().hex[:8]}"
    registry = ModelRegistry(
        tracking_uri=mlflow_server.url, experiment_name=name, model_name=name, promotion_gate=None
    )
    checkpoint = tiny_cnn_checkpoint(tmp_path / "best.pt", seed=3)
    run_id = registry.log_model(checkpoint, "tiny", {"backbone": "cnn"}, {"best_val_loss": 0.4})
    registry.promote_model(1, "Production")
    record = registry.version_record(1)
    assert record is not None and record.kind == "mlflow-model"
    wav = write_material(tmp_path, "four", 126.0, seconds=8.0)
    expected = File2Structure.from_checkpoint(checkpoint)(wav).to_dict()

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    for uri in (f"models:/{name}@production", f"models:/{name}/1", f"runs:/{run_id}/model"):
        [answer] = mlflow.pyfunc.load_model(uri).predict({"audio": [wav.read_bytes()]})
        assert answer == expected, uri
    assert registry.download_version(1, tmp_path / "dl").read_bytes() == checkpoint.read_bytes()
