"""The trainer unchanged against PostgreSQL and the tracking server: curves, params, version."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset
from edm.training import TrainingConfig
from edm.training.pipeline import train_from_directory


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / "data"
    write_synthetic_dataset(folder, 3, seed=11, config=SynthConfig(min_seconds=40, max_seconds=45))
    return folder


@pytest.mark.parametrize("backend", ["postgresql", "http"])
def test_training_logs_and_registers_on_shared_stores(
    backend: str, tiny_data: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        uri = server.uri(
            server.create_database(template=request.getfixturevalue("postgres_template"))
        )
    else:
        uri = request.getfixturevalue("mlflow_server").url
    name = f"trainer-{backend}-{uuid.uuid4().hex[:6]}"
    registry = ModelRegistry(tracking_uri=uri, model_name=name, experiment_name=name)
    config = TrainingConfig.create(
        num_epochs=2, batch_size=4, crop_seconds=6.0, val_fraction=0.34,
        output_dir=tmp_path / "out", run_name="shared", tags={"experiment": backend},
    )  # fmt: skip
    result = train_from_directory(tiny_data, config, registry).result

    [model] = registry.list_models()
    assert model["version"] == result.model_version == 1
    assert model["params"]["num_epochs"] == "2" and model["tags"]["experiment"] == backend
    assert model["tags"]["dataset_hash"].endswith(".dir")
    assert len(registry.client.get_metric_history(result.run_id, "val_loss")) == 2
    assert (
        registry.download_version(1, tmp_path / "dl").read_bytes()
        == result.best_checkpoint.read_bytes()
    )
