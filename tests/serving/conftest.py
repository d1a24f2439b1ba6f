"""A real local store (SQLite) with tiny real checkpoints, and the real service on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from tests.inference.audio_material import write_material
from tests.serving.service_helpers import EdmService
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry


@pytest.fixture
def registry(store_uri: str) -> ModelRegistry:
    """The gate is off: these tests are about serving, not about evaluation."""
    return ModelRegistry(tracking_uri=store_uri, promotion_gate=None)


@pytest.fixture
def bare_registry(store_uri: str) -> ModelRegistry:
    """Bare checkpoints (no MLflow model): the rollback decision never loads them."""
    return ModelRegistry(tracking_uri=store_uri, promotion_gate=None, packager=None)


@pytest.fixture
def register(registry: ModelRegistry, tmp_path: Path) -> Callable[..., int]:
    """Register a tiny real checkpoint (seed = its weights) and return its version."""

    def make(seed: int = 0, *, broken: bool = False) -> int:
        path = tmp_path / "checkpoints" / f"seed{seed}{'-broken' if broken else ''}" / "best.pt"
        path.parent.mkdir(parents=True, exist_ok=True)
        if broken:
            path.write_bytes(b"not a checkpoint")
        else:
            tiny_cnn_checkpoint(path, seed=seed)
        registry.log_model(path, f"seed-{seed}", {"backbone": "cnn"}, {"best_val_loss": 1.0})
        return max(record.version for record in registry.version_records(1000))

    return make


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """8 s of a click track: short enough for fast requests."""
    folder = tmp_path / "audio"
    folder.mkdir(exist_ok=True)
    return write_material(folder, "click", 128.0, seconds=8.0)


@pytest.fixture
def start_service(store_uri: str, tmp_path: Path) -> Iterator[Callable[..., EdmService]]:
    services: list[EdmService] = []

    def start(
        *options: str, env: dict[str, str] | None = None, entry: list[str] | None = None
    ) -> EdmService:
        service = EdmService(
            store_uri, tmp_path, "--poll-interval", "1", *options, env=env, entry=entry
        )
        services.append(service)
        return service.wait_started()

    yield start
    for service in services:
        service.stop()
