"""Every registered edm checkpoint is an MLflow model: the loads MLflow's own tools do, and
the same numbers as ``edm analyze``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from audio_material import write_material
from mlflow.exceptions import MlflowException
from tests.cli_runner import make_runner

from edm.code_version import source_commit
from edm.inference.pipeline import File2Structure
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow  # each registration writes and validates a whole MLflow model


@pytest.fixture(scope="module")
def store(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A local store with version 1 of the tiny model, in Production."""
    root = tmp_path_factory.mktemp("pyfunc-store")
    uri = str(root / "mlruns")
    registry = ModelRegistry(tracking_uri=uri, promotion_gate=None, download_dir=root / "dl")
    run_id = registry.log_model(
        tiny_checkpoint, "tiny", {"backbone": "cnn"}, {"best_val_loss": 0.25}, {"k": "v"}
    )
    registry.promote_model(1, "Production")
    wav = write_material(root, "four", 128.0, seconds=12.0)
    return {"uri": uri, "registry": registry, "run_id": run_id, "wav": wav, "root": root}


def _load(uri: str, store: dict, monkeypatch: pytest.MonkeyPatch):
    import mlflow.pyfunc

    # mlflow.pyfunc.load_model finds the store as a user points it there: the environment.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store['uri']}/mlflow.db")
    return mlflow.pyfunc.load_model(uri)


def test_the_version_is_a_logged_model_with_a_signature_and_metrics(store: dict) -> None:
    import mlflow
    from mlflow.models import Model

    registry: ModelRegistry = store["registry"]
    record = registry.version_record(1)
    assert record is not None and record.kind == "mlflow-model"
    assert record.source == f"models:/{record.model_id}"
    assert "cnn backbone" in record.description and "0.2500" in record.description
    logged = registry.client.get_logged_model(record.model_id)
    assert logged.source_run_id == store["run_id"] and str(logged.status) == "READY"
    assert {m.key: m.value for m in logged.metrics} == {"best_val_loss": 0.25}
    assert json.loads(logged.tags["mlflow.modelVersions"]) == [
        {"name": "edm-structure-detector", "version": "1"}
    ]
    assert logged.tags["mlflow.user"] and logged.tags["mlflow.source.type"] == "LOCAL"
    folder = Path(
        mlflow.artifacts.download_artifacts(
            artifact_uri=logged.artifact_location, tracking_uri=registry.tracking_uri
        )
    )
    info = Model.load(str(folder))
    assert [c["name"] for c in info.signature.inputs.to_dict()] == ["audio"]
    outputs = {c["name"] for c in info.signature.outputs.to_dict()}
    structure = {"duration", "bpm", "time_signature", "beats", "downbeats", "sections"}
    assert outputs == structure | {"confidence"}
    assert "python_function" in info.flavors
    requirements = (folder / "requirements.txt").read_text().splitlines()
    names = {line.partition("==")[0] for line in requirements}
    assert {"mlflow", "onnxruntime", "numpy", "soundfile"} <= names
    # No "edm" (PyPI's is another project): the code travels in code/edm, with what it is.
    assert not {"edm", "edm-structure"} & names
    assert info.flavors["python_function"]["code"] == "code"
    shipped = json.loads((folder / "code" / "edm" / "_shipped.json").read_text())
    assert shipped["distribution"] == "edm-structure" and shipped["git_commit"] == source_commit()
    # The cnn answers with the ONNX graph registered with it: no torch to install.
    assert "torch" not in names and list((folder / "artifacts").glob("*.onnx"))
    assert (folder / "input_example.json").is_file()
    # Models-from-code: MLflow stored our code file, not a pickled object.
    assert info.flavors["python_function"].get("model_code_path", "").endswith("pyfunc_model.py")
    assert not list(folder.rglob("*.pkl"))


def test_the_run_carries_mlflow_provenance(store: dict) -> None:
    run = store["registry"].client.get_run(store["run_id"])
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert tags["mlflow.source.name"]
    assert tags["git_commit"]  # edm's own tags stay beside MLflow's


@pytest.mark.parametrize("which", ["alias", "version", "run"])
def test_mlflow_loads_it_and_it_answers_like_edm_analyze(
    store: dict, which: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = {
        "alias": "models:/edm-structure-detector@production",
        "version": "models:/edm-structure-detector/1",
        "run": f"runs:/{store['run_id']}/model",
    }[which]
    model = _load(uri, store, monkeypatch)
    audio = store["wav"].read_bytes()
    [answer] = model.predict(pd.DataFrame({"audio": [audio]}))
    checkpoint = store["registry"].download_version(1)
    expected = File2Structure.from_checkpoint(checkpoint)(store["wav"]).to_dict()
    assert answer == expected


def test_edm_analyze_gives_the_same_numbers(
    store: dict, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store["root"])
    run = make_runner(capsys, monkeypatch)
    result = run("--tracking-uri", store["uri"], "analyze", str(store["wav"]), "-f", "json")
    assert result.exit_code == 0, result.stderr
    [track] = json.loads(result.stdout)["tracks"]
    model = _load("models:/edm-structure-detector/1", store, monkeypatch)
    [answer] = model.predict({"audio": [store["wav"].read_bytes()]})
    assert {k: track[k] for k in answer} == answer
    info = run("--tracking-uri", store["uri"], "models", "info", "1")
    assert "MLflow model (mlflow.pyfunc.load_model" in info.stdout


def test_bad_input_is_one_clear_error(
    store: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = _load("models:/edm-structure-detector/1", store, monkeypatch)
    with pytest.raises(MlflowException, match=r"input row 0: not a supported audio file") as bad:
        model.predict(pd.DataFrame({"audio": [b"this is not audio at all"]}))
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(MlflowException, match=r"input row 0: the audio is empty"):
        model.predict(pd.DataFrame({"audio": [b""]}))
    with pytest.raises(MlflowException, match=r"missing inputs \['audio'\]"):
        model.predict(pd.DataFrame({"sound": [b"x"]}))
    long_wav = write_material(tmp_path, "click", 120.0, seconds=40.0)
    model._model_impl.python_model.max_audio_seconds = 30.0
    with pytest.raises(MlflowException, match=r"lasts 40 s, over the limit of 30 s"):
        model.predict(pd.DataFrame({"audio": [long_wav.read_bytes()]}))


def test_bare_checkpoint_versions_still_load_in_edm(tmp_path: Path, tiny_checkpoint: Path) -> None:
    """Versions registered before edm logged MLflow models: a .pt in the run's model/ folder."""
    registry = ModelRegistry(tracking_uri=str(tmp_path / "mlruns"), packager=None)
    registry.log_model(tiny_checkpoint, "old", {}, {"best_val_loss": 1.0})
    record = registry.version_record(1)
    assert record is not None and record.kind == "checkpoint" and record.model_id is None
    path = registry.download_version(1, tmp_path / "dl")
    assert path.name == tiny_checkpoint.name and path.read_bytes() == tiny_checkpoint.read_bytes()


def test_loading_the_model_code_imports_no_training_code() -> None:
    code = (
        "import sys, edm.inference.pyfunc;"
        "print(sorted(m for m in sys.modules if m.startswith(('edm.training', 'edm.cli', "
        "'edm.evaluation', 'mir_eval'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
