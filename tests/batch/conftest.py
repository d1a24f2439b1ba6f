"""A real local Spark session (one per test module), a real SQLite store with the tiny model
registered and in Production, and a small catalogue: four short tracks and two bad files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.inference.audio_material import write_material
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry

GOOD = (("click", 120.0), ("four", 128.0), ("break", 150.0), ("four", 124.0))
BAD = ("empty.wav", "notes.mp3")


def write_catalogue(folder: Path, seconds: float = 6.0) -> Path:
    """Four tracks (one in a sub-folder) and two bad files: an empty WAV and text named .mp3."""
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    for index, (kind, bpm) in enumerate(GOOD):
        write_material(folder / "sub" if index == 3 else folder, kind, bpm, seconds=seconds)
    (folder / BAD[0]).write_bytes(b"")
    (folder / BAD[1]).write_text("not audio at all\n" * 50)
    return folder


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from edm.batch.spark import spark_session

    session = spark_session("local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalogue(tmp_path_factory.mktemp("catalogue"))


@pytest.fixture(scope="module")
def batch_store(tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path) -> str:
    """Version 1 of the tiny model, in Production, in a store of the module's own."""
    import shutil

    root = tmp_path_factory.mktemp("batch-store")
    (root / "mlruns").mkdir()
    shutil.copyfile(_migrated_empty_store, root / "mlruns" / "mlflow.db")
    checkpoint = tiny_cnn_checkpoint(root / "tiny.pt", seed=0)
    registry = ModelRegistry(tracking_uri=str(root / "mlruns"), promotion_gate=None)
    registry.log_model(checkpoint, "tiny", {"backbone": "cnn"}, {"best_val_loss": 1.0})
    registry.promote_model(1, "Production")
    return str(root / "mlruns")
