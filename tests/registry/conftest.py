from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edm.registry import ModelRegistry


@pytest.fixture
def registry(store_uri: str) -> ModelRegistry:
    return ModelRegistry(tracking_uri=store_uri)


@pytest.fixture
def log_versions(registry: ModelRegistry, checkpoint: Path) -> Callable[[int], list[str]]:
    """Log N versions whose best_val_loss improves with each one."""

    def log(n: int) -> list[str]:
        start = len(registry.list_models(max_results=1000))
        return [
            registry.log_model(
                model_path=checkpoint,
                run_name=f"run-{start + i + 1}",
                params={
                    "backbone": "cnn",
                    "learning_rate": 1e-3 / (start + i + 1),
                    "num_epochs": 5,
                },
                metrics={"best_val_loss": 1.0 / (start + i + 1), "best_epoch": 3},
                tags={"experiment": "baseline"},
            )
            for i in range(n)
        ]

    return log


class CountingClient:
    """Delegates to the real MlflowClient and counts the calls made through it."""

    def __init__(self, client: object) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> object:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def counted(*args: object, **kwargs: object) -> object:
            self.calls.append(name)
            return attribute(*args, **kwargs)

        return counted
