"""The registry suite runs against every backend, each a real store: SQLite (a file),
PostgreSQL (a server) and an `mlflow server` on PostgreSQL over HTTP."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from edm.registry import ModelRegistry, PromotionGate

BACKENDS = ("sqlite", "postgresql", "http")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def store_uri(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        store = tmp_path / "mlruns"
        store.mkdir()
        shutil.copyfile(request.getfixturevalue("_migrated_empty_store"), store / "mlflow.db")
        return str(store)
    if backend == "postgresql":
        server = request.getfixturevalue("postgres_server")
        template = request.getfixturevalue("postgres_template")
        return server.uri(server.create_database(template=template))
    return request.getfixturevalue("mlflow_server").url


@pytest.fixture
def names(backend: str) -> dict[str, str]:
    """The shared tracking server keeps every test's data: each test gets its own names."""
    if backend != "http":
        return {"model_name": "edm-structure-detector", "experiment_name": "edm-training"}
    unique = uuid.uuid4().hex[:8]
    return {"model_name": f"edm-test-{unique}", "experiment_name": f"edm-test-{unique}"}


@pytest.fixture
def make_registry(store_uri: str, names: dict[str, str]) -> Callable[..., ModelRegistry]:
    """A fresh ModelRegistry (a new client) on the test's store and names.

    The Production gate is off here: these tests are about stages, not evaluation
    (test_gate.py tests the gate).
    """

    def make(promotion_gate: PromotionGate | None = None, **overrides: str) -> ModelRegistry:
        options = names | overrides
        return ModelRegistry(
            tracking_uri=store_uri,
            experiment_name=options["experiment_name"],
            model_name=options["model_name"],
            promotion_gate=promotion_gate,
        )

    return make


@pytest.fixture
def registry(make_registry: Callable[..., ModelRegistry]) -> ModelRegistry:
    return make_registry()


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
