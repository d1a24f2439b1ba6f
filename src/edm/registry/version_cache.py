"""A version's downloaded checkpoint, found again without MLflow.

``edm analyze --model 3`` used to import MLflow (about 1.5 s), open the store and download the
version again on every call. Each download now leaves an entry, ``.edm-version-cache.json``,
in the version's download folder (``downloads/<model>-v<version>/``): which store and version
it came from, the identity of that version's record (source, run id, creation time) and the
checkpoint's sha256. ``cached_checkpoint`` answers a later call on a local SQLite store by
reading the version's row (and, for a stage or an alias, the alias row) with ``sqlite3``,
read-only, and hashing the file.

A hit needs every one of: an entry for the same store, model and version; a record that still
has the entry's identity (a store deleted and recreated has new runs, so its version 1 is
another model; a deleted version's row is blanked); the checkpoint file with the recorded
hash. Anything else, including a locked or unreadable database, a schema that is not MLflow's,
or a store that is not a local SQLite file, is a miss: ``None``, and the caller downloads
through MLflow, which writes the entry again.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from edm import settings
from edm.atomic import write_text_atomically
from edm.errors import EdmError
from edm.file_hash import file_sha256

log = logging.getLogger(__name__)

ENTRY_NAME = ".edm-version-cache.json"
ENTRY_FORMAT = 1

# How long a lookup waits for a writer that locks the database (a rollback-journal store);
# past that a miss is cheaper than waiting: the caller goes through MLflow, which retries.
_BUSY_TIMEOUT_S = 0.5
# MLflow keeps a deleted version's row, with this stage and its source and run blanked.
_DELETED_STAGE = "Deleted_Internal"
_READY_STATUS = "READY"


@dataclass(frozen=True)
class RegistryAddress:
    """Where a registry is, as its caller knows before building it: enough to find a cached
    download. It must name the store, model and folder the caller's registry would use."""

    tracking_uri: str | None = None  # None: as ModelRegistry, MLFLOW_TRACKING_URI or ./mlruns
    model_name: str | None = None  # None: settings.model_name()
    download_dir: Path | str | None = None  # None: settings.DEFAULT_DOWNLOAD_DIR

    def resolved_model_name(self) -> str:
        return self.model_name or settings.model_name()

    def download_root(self) -> Path:
        return Path(self.download_dir or settings.DEFAULT_DOWNLOAD_DIR).resolve()


@dataclass(frozen=True)
class VersionIdentity:
    """What tells one registered version from another that later took its number."""

    source: str
    run_id: str | None
    creation_time: int | None  # ms since the epoch, as MLflow keeps it


@dataclass(frozen=True)
class CachedCheckpoint:
    path: Path
    model_name: str
    version: int
    run_id: str | None


def version_folder(download_root: Path, model_name: str, version: int) -> Path:
    """Where a version's files land (``Downloads.version``) and its entry with them."""
    return download_root / f"{model_name}-v{version}"


def write_entry(
    folder: Path,
    *,
    tracking_uri: str,
    model_name: str,
    version: int,
    identity: VersionIdentity,
    checkpoint: Path,
) -> None:
    """Record in ``folder`` which version its ``checkpoint`` is, before the folder is moved
    into place, so that the entry and the files appear together."""
    document = {
        "format": ENTRY_FORMAT,
        "store": store_identity(tracking_uri),
        "model_name": model_name,
        "version": int(version),
        "source": identity.source,
        "run_id": identity.run_id,
        "creation_time": identity.creation_time,
        "checkpoint": checkpoint.relative_to(folder).as_posix(),
        "sha256": file_sha256(checkpoint),
    }
    write_text_atomically(folder / ENTRY_NAME, json.dumps(document, indent=2) + "\n")


def cached_checkpoint(
    address: RegistryAddress,
    *,
    model_name: str | None = None,
    version: int | None = None,
    alias: str | None = None,
    download_dir: Path | str | None = None,
) -> CachedCheckpoint | None:
    """The checkpoint of ``version`` (or of the version ``alias`` points at), downloaded
    before from the store at ``address``, if it is still that version's; else None.

    ``model_name`` and ``download_dir`` override the address's (a ``models:/NAME/...`` ref,
    a caller's own folder). A store or file that cannot be read is a miss, never an error.
    """
    if (version is None) == (alias is None):
        raise ValueError("give a version or an alias")
    name = model_name or address.resolved_model_name()
    try:
        location = settings.resolve_store(address.tracking_uri)
    except EdmError:
        return None  # the slow path reports the bad URI
    database = _sqlite_file(location)
    if database is None:
        return None
    found = _read_version(database, name, version, alias)
    if found is None:
        return None
    number, identity = found
    root = Path(download_dir).resolve() if download_dir else address.download_root()
    folder = version_folder(root, name, number)
    store = store_identity(location.tracking_uri)
    checkpoint = _checked_checkpoint(folder, store, name, number, identity)
    if checkpoint is None:
        return None
    return CachedCheckpoint(checkpoint, name, number, identity.run_id)


def store_identity(tracking_uri: str) -> str:
    """The store as an entry names it: an SQLite file by its absolute path (a relative
    ``sqlite:///`` URI means another file in another folder); any other URI with its
    secrets removed."""
    try:
        location = settings.resolve_store(tracking_uri)
    except EdmError:
        return settings.redact_uri(tracking_uri)
    database = _sqlite_file(location)
    if database is not None:
        return f"sqlite:///{database}"
    return settings.redact_uri(location.tracking_uri)


def _sqlite_file(location: settings.StoreLocation) -> Path | None:
    """The database file of a local SQLite store; None for any other store."""
    uri = location.tracking_uri
    if location.local_dir is None or not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///")
    if not path or "?" in path or "#" in path:  # SQLAlchemy options: let MLflow read it
        return None
    return Path(path).expanduser().resolve()


def _read_version(
    database: Path, model_name: str, version: int | None, alias: str | None
) -> tuple[int, VersionIdentity] | None:
    """The version's number and identity from MLflow's tables; None on any doubt.

    Exactly one row must match: a store with workspaces may hold the same name twice, and
    which one the caller means is MLflow's to say.
    """
    if not database.is_file():
        return None  # connecting read-only to a missing file would fail anyway; say why
    try:
        connection = sqlite3.connect(
            f"file:{quote(str(database))}?mode=ro", uri=True, timeout=_BUSY_TIMEOUT_S
        )
    except sqlite3.Error as exc:
        log.debug("version cache: cannot open %s read-only: %s", database, exc)
        return None
    try:
        # One read transaction: the alias and the version row are read at the same moment.
        connection.execute("BEGIN")
        if alias is not None:
            rows = connection.execute(
                "SELECT version FROM registered_model_aliases WHERE name = ? AND alias = ?",
                (model_name, alias),
            ).fetchall()
            if len(rows) != 1:
                return None
            version = int(rows[0][0])
        rows = connection.execute(
            "SELECT source, run_id, creation_time, current_stage, status "
            "FROM model_versions WHERE name = ? AND version = ?",
            (model_name, version),
        ).fetchall()
        connection.rollback()
    except (sqlite3.Error, TypeError, ValueError) as exc:
        log.debug("version cache: cannot read %s: %s", database, exc)
        return None
    finally:
        connection.close()
    if len(rows) != 1 or version is None:
        return None
    source, run_id, creation_time, stage, status = rows[0]
    if stage == _DELETED_STAGE or status != _READY_STATUS or not isinstance(source, str):
        return None
    created = creation_time if isinstance(creation_time, int) else None
    return int(version), VersionIdentity(source, run_id or None, created)


def _checked_checkpoint(
    folder: Path, store: str, model_name: str, version: int, identity: VersionIdentity
) -> Path | None:
    """The entry's checkpoint, if the entry is for this store, model, version and record,
    and the file still has the hash it had when it was downloaded."""
    entry = _read_entry(folder / ENTRY_NAME)
    if entry is None:
        return None
    expected = {
        "format": ENTRY_FORMAT,
        "store": store,
        "model_name": model_name,
        "version": version,
        "source": identity.source,
        "run_id": identity.run_id,
        "creation_time": identity.creation_time,
    }
    # A record with no creation time cannot be told from a later one with the same source
    # and run: never a hit on it.
    if identity.creation_time is None or any(entry.get(k) != v for k, v in expected.items()):
        return None
    relative, recorded_hash = entry.get("checkpoint"), entry.get("sha256")
    if not isinstance(relative, str) or not isinstance(recorded_hash, str):
        return None
    checkpoint = folder / relative
    if not checkpoint.resolve().is_relative_to(folder.resolve()) or not checkpoint.is_file():
        return None  # an entry edited to point outside its folder serves nothing
    try:
        if file_sha256(checkpoint) != recorded_hash:
            log.debug("version cache: %s changed since it was downloaded", checkpoint)
            return None
    except OSError:
        return None
    return checkpoint


def _read_entry(path: Path) -> dict[str, Any] | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None
