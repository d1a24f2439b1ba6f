"""Shared fixtures: every test gets its own real SQLite store in a temporary folder."""

from __future__ import annotations

import os

# Rich reads the terminal width when the CLI's consoles are created: make tables wide enough
# that the CLI tests can read every column.
os.environ.setdefault("COLUMNS", "200")

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm, make_runner
from tests.servers import MlflowServer, PostgresServer

_STORE_ENV = ("MLFLOW_TRACKING_URI", "EDM_ARTIFACT_ROOT", "EDM_MODEL_NAME", "EDM_DEBUG")


@pytest.fixture(scope="session")
def _feature_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the whole session: entries are keyed by audio content and feature params.
    return tmp_path_factory.mktemp("feature-cache")


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _feature_cache_dir: Path
) -> None:
    """No test reads the developer's store or cache, or writes into the checkout."""
    for name in _STORE_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "tester")
    monkeypatch.setenv("EDM_CACHE_DIR", str(_feature_cache_dir))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def _migrated_empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite store with MLflow's schema, created once: migrations take ~1.5 s."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def store_uri(tmp_path: Path, _migrated_empty_store: Path) -> str:
    """A fresh local store (the spec layout) in the test's own folder."""
    store = tmp_path / "mlruns"
    store.mkdir()
    shutil.copyfile(_migrated_empty_store, store / "mlflow.db")
    return str(store)


@pytest.fixture
def run_edm(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunEdm:
    return make_runner(capsys, monkeypatch)


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    """A small real checkpoint file."""
    path = tmp_path / "outputs" / "best.pt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"edm-test-checkpoint\x00" + os.urandom(64))
    return path


# ---------------------------------------------------------------- real servers (session-wide)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer) -> str:
    """A database with MLflow's schema, copied for each test (migrations take seconds)."""
    from mlflow.tracking import MlflowClient

    name = postgres_server.create_database()
    MlflowClient(tracking_uri=postgres_server.uri(name)).search_experiments()
    return name


@pytest.fixture(scope="session")
def mlflow_server(
    postgres_server: PostgresServer,
    postgres_template: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[MlflowServer]:
    """A tracking server on PostgreSQL with proxied artifacts; tests share it under their own
    model and experiment names."""
    database = postgres_server.create_database(template=postgres_template)
    artifacts = tmp_path_factory.mktemp("server-artifacts")
    server = MlflowServer(postgres_server.uri(database), str(artifacts)).start()
    yield server
    server.stop()


# ---------------------------------------------------------------- a browser (session-wide)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Debian's Chromium through Playwright, one for the whole session: Playwright's sync API
    runs one instance per process at a time (a second ``sync_playwright()`` while the first is
    open raises "using Playwright Sync API inside the asyncio loop")."""
    from tests.annotate.browser import ARGS, chromium_path

    executable = chromium_path()
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=ARGS)
        yield launched
        launched.close()
