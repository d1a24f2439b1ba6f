"""A version downloaded before is found again without MLflow, and only while it is still that
version: every test here runs on a real local SQLite store."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edm.errors import ModelVersionNotFoundError
from edm.registry import ModelRegistry
from edm.registry.refs import resolve_model
from edm.registry.version_cache import (
    ENTRY_NAME,
    RegistryAddress,
    VersionIdentity,
    cached_checkpoint,
    write_entry,
)


@pytest.fixture
def backend() -> str:
    """The cache reads SQLite files only: the other backends have nothing to test here."""
    return "sqlite"


class CountingFactory:
    """A registry factory that says how often a registry was built (the slow path)."""

    def __init__(self, make: Callable[[], ModelRegistry]) -> None:
        self._make = make
        self.built = 0

    def __call__(self) -> ModelRegistry:
        self.built += 1
        return self._make()


def _downloaded(registry: ModelRegistry, checkpoint: Path, store_uri: str) -> RegistryAddress:
    """Version 1 logged and resolved once (so downloaded, with its entry); its address."""
    registry.log_model(checkpoint, "first", {}, {})
    address = RegistryAddress(store_uri, registry.model_name)
    resolve_model("1", lambda: registry, address=address)
    return address


def _no_registry() -> ModelRegistry:
    raise AssertionError("a cached version must not build the registry")


def test_a_second_resolve_is_a_hit_that_imports_no_mlflow(
    registry: ModelRegistry, checkpoint: Path, store_uri: str
) -> None:
    run_id = registry.log_model(checkpoint, "first", {}, {})
    address = RegistryAddress(store_uri, registry.model_name)
    first = resolve_model("1", lambda: registry, address=address)
    assert (first.path.parent / ENTRY_NAME).is_file()

    code = (
        "import json, sys\n"
        "from edm.registry.refs import resolve_model\n"
        "from edm.registry.version_cache import RegistryAddress\n"
        "def no_registry():\n"
        "    raise AssertionError('built the registry')\n"
        f"address = RegistryAddress({store_uri!r}, {registry.model_name!r})\n"
        "resolved = resolve_model('1', no_registry, address=address)\n"
        "print(json.dumps({'path': str(resolved.path), 'run_id': resolved.run_id,\n"
        "    'version': resolved.version, 'mlflow': 'mlflow' in sys.modules}))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    second = json.loads(done.stdout)
    assert second == {"path": str(first.path), "run_id": run_id, "version": 1, "mlflow": False}


def test_a_hit_builds_its_registry_only_when_asked(
    registry: ModelRegistry, checkpoint: Path, store_uri: str
) -> None:
    address = _downloaded(registry, checkpoint, store_uri)
    factory = CountingFactory(lambda: registry)
    hit = resolve_model("1", factory, address=address)
    assert factory.built == 0 and (hit.version, hit.model_name) == (1, registry.model_name)
    assert hit.registry is registry and hit.registry is registry
    assert factory.built == 1  # built once, on first use: what evaluate --log writes through


def test_production_follows_the_alias(
    registry: ModelRegistry, checkpoint: Path, store_uri: str
) -> None:
    registry.log_model(checkpoint, "first", {}, {})
    run_2 = registry.log_model(checkpoint, "second", {}, {})
    address = RegistryAddress(store_uri, registry.model_name)
    registry.promote_model(1, "Production")
    assert resolve_model(None, lambda: registry, address=address).version == 1
    assert resolve_model("2", lambda: registry, address=address).version == 2
    assert resolve_model("Production", _no_registry, address=address).version == 1

    registry.promote_model(2, "Production")
    moved = resolve_model("Production", _no_registry, address=address)
    assert (moved.version, moved.run_id) == (2, run_2)
    assert (
        resolve_model(
            f"models:/{registry.model_name}@production", _no_registry, address=address
        ).version
        == 2
    )
    registry.promote_model(1, "Staging")
    assert resolve_model("Staging", _no_registry, address=address).version == 1


def test_a_recreated_store_is_not_served_from_the_old_download(
    make_registry: Callable[..., ModelRegistry],
    checkpoint: Path,
    store_uri: str,
    tmp_path: Path,
    _migrated_empty_store: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MLflow keeps one engine per database URI; without a pool it opens the file anew each
    # time, so it reads the recreated store, not the deleted file it had open.
    monkeypatch.setenv("MLFLOW_SQLALCHEMYSTORE_POOLCLASS", "NullPool")
    registry = make_registry()
    registry.log_model(checkpoint, "old", {}, {})
    address = RegistryAddress(store_uri, registry.model_name)
    old = resolve_model("1", lambda: registry, address=address)

    shutil.rmtree(store_uri)
    shutil.rmtree(tmp_path / "mlartifacts")
    Path(store_uri).mkdir()
    shutil.copyfile(_migrated_empty_store, Path(store_uri) / "mlflow.db")
    other = tmp_path / "other" / "best.pt"
    other.parent.mkdir()
    other.write_bytes(b"another model entirely")
    recreated = make_registry()
    new_run = recreated.log_model(other, "new", {}, {})

    assert cached_checkpoint(address, version=1) is None
    factory = CountingFactory(lambda: recreated)
    new = resolve_model("1", factory, address=address)
    assert factory.built == 1
    assert (new.path, new.run_id) == (old.path, new_run)
    assert new.path.read_bytes() == other.read_bytes()
    assert resolve_model("1", _no_registry, address=address).run_id == new_run


def test_a_checkpoint_changed_on_disk_is_downloaded_again(
    registry: ModelRegistry, checkpoint: Path, store_uri: str
) -> None:
    registry.log_model(checkpoint, "first", {}, {})
    address = RegistryAddress(store_uri, registry.model_name)
    path = resolve_model("1", lambda: registry, address=address).path
    path.write_bytes(b"edited by hand")

    assert cached_checkpoint(address, version=1) is None
    factory = CountingFactory(lambda: registry)
    again = resolve_model("1", factory, address=address)
    assert factory.built == 1 and again.path.read_bytes() == checkpoint.read_bytes()
    path.unlink()
    assert cached_checkpoint(address, version=1) is None


def test_a_deleted_version_gets_the_usual_error(
    registry: ModelRegistry, checkpoint: Path, store_uri: str
) -> None:
    address = _downloaded(registry, checkpoint, store_uri)
    registry.client.delete_model_version(registry.model_name, "1")

    assert cached_checkpoint(address, version=1) is None
    with pytest.raises(ModelVersionNotFoundError, match=r"model version 1 .* does not exist"):
        resolve_model("1", lambda: registry, address=address)


def test_another_store_or_folder_misses(
    registry: ModelRegistry, checkpoint: Path, store_uri: str, tmp_path: Path
) -> None:
    address = _downloaded(registry, checkpoint, store_uri)
    assert cached_checkpoint(address, version=1) is not None
    assert cached_checkpoint(address, version=1, download_dir=tmp_path / "elsewhere") is None
    assert cached_checkpoint(address, version=1, model_name="another-model") is None
    empty = tmp_path / "empty-store"
    empty.mkdir()
    assert cached_checkpoint(RegistryAddress(str(empty), registry.model_name), version=1) is None


@pytest.mark.parametrize("uri", ["http://127.0.0.1:9", "postgresql://edm:secret@127.0.0.1:9/edm"])
def test_a_store_that_is_not_a_local_sqlite_file_never_takes_the_fast_path(
    uri: str, checkpoint: Path, tmp_path: Path
) -> None:
    # An entry as a download from that store would have left it: still no hit, no connection.
    folder = tmp_path / "downloads" / "edm-structure-detector-v1"
    folder.mkdir(parents=True)
    shutil.copyfile(checkpoint, folder / "best.pt")
    identity = VersionIdentity("models:/m-1", "run1", 1)
    write_entry(
        folder,
        tracking_uri=uri,
        model_name="edm-structure-detector",
        version=1,
        identity=identity,
        checkpoint=folder / "best.pt",
    )
    assert "secret" not in (folder / ENTRY_NAME).read_text()
    assert cached_checkpoint(RegistryAddress(uri), version=1) is None
    assert cached_checkpoint(RegistryAddress(uri), alias="production") is None


def test_a_database_that_is_not_mlflows_or_is_locked_misses(
    registry: ModelRegistry, checkpoint: Path, store_uri: str, tmp_path: Path
) -> None:
    registry.log_model(checkpoint, "first", {}, {})
    name = registry.model_name
    database = tmp_path / "plain.db"
    plain = sqlite3.connect(database)
    plain.execute("CREATE TABLE model_versions (name TEXT, version INTEGER)")
    plain.close()
    assert cached_checkpoint(RegistryAddress(f"sqlite:///{database}", name), version=1) is None

    # A copy of the store in rollback-journal mode (where a writer blocks readers), with a
    # download of its version 1: a hit, until a writer holds the database.
    locked = tmp_path / "locked" / "mlflow.db"
    locked.parent.mkdir()
    source, copy = sqlite3.connect(Path(store_uri) / "mlflow.db"), sqlite3.connect(locked)
    source.backup(copy)
    copy.execute("PRAGMA journal_mode=DELETE")
    source.close()
    copy.close()
    record = registry.version_record(1)
    assert record is not None
    folder = tmp_path / "locked-downloads" / f"{name}-v1"
    folder.mkdir(parents=True)
    shutil.copyfile(checkpoint, folder / "best.pt")
    write_entry(
        folder,
        tracking_uri=f"sqlite:///{locked}",
        model_name=name,
        version=1,
        identity=VersionIdentity(record.source, record.run_id, record.created_timestamp),
        checkpoint=folder / "best.pt",
    )
    address = RegistryAddress(f"sqlite:///{locked}", name, tmp_path / "locked-downloads")
    assert cached_checkpoint(address, version=1) is not None
    writer = sqlite3.connect(locked, isolation_level=None)
    try:
        writer.execute("BEGIN EXCLUSIVE")
        assert cached_checkpoint(address, version=1) is None
    finally:
        writer.close()
    assert cached_checkpoint(address, version=1) is not None
