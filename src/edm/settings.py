"""Where things live: the tracking store, its artifact root, the registered model's name.

The default store follows the spec's layout: an SQLite database under ``./mlruns/`` for
tracking data and ``./mlartifacts/`` beside it for artifacts. A plain directory path (or a
``file:`` URI) names such a local store; ``sqlite:``, ``postgresql:`` and ``http(s):`` URIs pass
through unchanged.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from edm.errors import ConfigError

DEFAULT_STORE_DIR = "mlruns"
ARTIFACTS_DIR = "mlartifacts"
SQLITE_FILENAME = "mlflow.db"
DEFAULT_EXPERIMENT = "edm-training"
DEFAULT_MODEL_NAME = "edm-structure-detector"
DEFAULT_DOWNLOAD_DIR = "downloads"

ENV_TRACKING_URI = "MLFLOW_TRACKING_URI"
ENV_ARTIFACT_ROOT = "EDM_ARTIFACT_ROOT"
ENV_MODEL_NAME = "EDM_MODEL_NAME"
ENV_USERNAME = "MLFLOW_TRACKING_USERNAME"

_PASS_THROUGH_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks")


@dataclass(frozen=True)
class StoreLocation:
    """A resolved tracking store.

    ``artifact_root`` is where experiments that edm creates keep their artifacts; None lets
    the store decide (a tracking server with ``--artifacts-destination`` does).
    """

    tracking_uri: str
    artifact_root: str | None = None
    local_dir: Path | None = None  # the folder holding the SQLite file, for local stores

    @property
    def is_remote(self) -> bool:
        return urlsplit(self.tracking_uri).scheme in ("http", "https", "databricks")

    @property
    def display_uri(self) -> str:
        return redact_uri(self.tracking_uri)


def resolve_store(tracking_uri: str | None = None) -> StoreLocation:
    """Resolve an explicit URI, else ``MLFLOW_TRACKING_URI``, else the local default store."""
    uri = tracking_uri or os.environ.get(ENV_TRACKING_URI) or DEFAULT_STORE_DIR
    uri = uri.strip()
    if not uri:
        raise ConfigError("tracking URI is empty")
    explicit_root = os.environ.get(ENV_ARTIFACT_ROOT) or None
    scheme = _scheme(uri)

    if scheme in ("", "file"):
        directory = Path(urlsplit(uri).path if scheme == "file" else uri).expanduser().resolve()
        if directory.suffix == ".db":
            raise ConfigError(f"tracking URI '{uri}' names a file: use sqlite:///{directory}")
        return StoreLocation(
            tracking_uri=f"sqlite:///{directory / SQLITE_FILENAME}",
            artifact_root=explicit_root or _artifact_dir_for(directory).as_uri(),
            local_dir=directory,
        )
    if scheme == "sqlite":
        db_path = uri[len("sqlite:///") :] if uri.startswith("sqlite:///") else ""
        if not db_path or db_path == ":memory:":
            raise ConfigError(f"tracking URI '{uri}' must name an SQLite file: sqlite:///PATH")
        directory = Path(db_path).expanduser().resolve().parent
        return StoreLocation(
            tracking_uri=uri,
            artifact_root=explicit_root or _artifact_dir_for(directory).as_uri(),
            local_dir=directory,
        )
    if scheme.split("+")[0] in _PASS_THROUGH_SCHEMES:
        return StoreLocation(tracking_uri=uri, artifact_root=explicit_root)
    raise ConfigError(
        f"unsupported tracking URI scheme '{scheme}' in '{redact_uri(uri)}': use a directory, "
        "sqlite:///, postgresql:// or http(s)://"
    )


def mlflow_environment_defaults(*, debug: bool = False) -> dict[str, str]:
    """MLflow settings an entry point (the CLI, the service) applies once, before MLflow runs.

    MLflow reads these from the process environment only, so the library cannot pass them and
    must not set them (a server runs many requests in one process). Apply each with
    ``os.environ.setdefault`` so that a user's own value wins. They keep MLflow from printing:
    download progress bars, "View run at" links for remote stores, migration logs at INFO.
    """
    return {
        "MLFLOW_LOGGING_LEVEL": "DEBUG" if debug else "WARNING",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    }


def mlflow_fail_fast_environment(timeout_s: float) -> dict[str, str]:
    """MLflow settings for a quick answer (a health check): no retries, a short timeout.

    MLflow's HTTP client otherwise retries an unreachable server for minutes.
    """
    return {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(int(max(1, timeout_s))),
    }


def model_name() -> str:
    return os.environ.get(ENV_MODEL_NAME) or DEFAULT_MODEL_NAME


def current_user() -> str:
    """Who is acting: the tracking server's user name when one is set, else the OS user."""
    name = os.environ.get(ENV_USERNAME)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def redact_uri(uri: str) -> str:
    """Replace the password of ``scheme://user:password@host`` with ``***``."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", uri)
    if parts.password is None:
        return uri
    user = parts.username or ""
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _scheme(uri: str) -> str:
    # A Windows drive letter ("C:\\...") is a path, not a scheme.
    match = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", uri)
    if not match or len(match.group(1)) == 1:
        return ""
    return match.group(1).lower()


def _artifact_dir_for(store_dir: Path) -> Path:
    # The spec keeps mlruns/ and mlartifacts/ side by side; any other folder keeps its own.
    if store_dir.name == DEFAULT_STORE_DIR:
        return store_dir.parent / ARTIFACTS_DIR
    return store_dir / ARTIFACTS_DIR
