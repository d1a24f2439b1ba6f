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
# Builds the MLflow model of a registered checkpoint (see edm.registry.packaging).
DEFAULT_MODEL_PACKAGER = "edm.inference.packaging:pyfunc_package"

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
    A tracking server that stops answering mid-command is retried for seconds, not minutes
    (MLflow's default: 7 retries with backoff up to 2 minutes each); one that does not answer
    at all is found by a single probe first (``edm.registry.reachability``).
    """
    return {
        "MLFLOW_LOGGING_LEVEL": "DEBUG" if debug else "WARNING",
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
        "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
        "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
        "MLFLOW_HTTP_REQUEST_BACKOFF_JITTER": "0.5",
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


# Query parameters that carry a secret (``?password=``, libpq's ``sslpassword``, tokens).
_SECRET_QUERY_KEY = re.compile(r"pass|pwd|secret|token|api[_-]?key|credential", re.IGNORECASE)


def redact_uri(uri: str) -> str:
    """Replace the secrets of a URI with ``***``: the password of ``scheme://user:pw@host``
    and the value of query parameters such as ``?password=``."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        text = re.sub(r"://([^:/@]*):[^@/]*@", r"://\1:***@", uri)
        return _redact_query_text(text)
    if parts.password is not None:
        user = parts.username or ""
        host = parts.netloc.rpartition("@")[2]
        uri = urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
    if parts.query:  # textually: urlunsplit would drop the empty host of sqlite:////abs/path
        before, mark, query = uri.partition("?")
        uri = before + mark + _redact_query_text(query)
    return uri


def uri_secrets(uri: str) -> set[str]:
    """The secrets written in a URI (its password, secret query values), to scrub from text."""
    from urllib.parse import parse_qsl, unquote

    found: set[str] = set()
    try:
        parts = urlsplit(uri)
        password = parts.password
    except ValueError:
        parts, password = None, None
    if password:
        found |= {password, unquote(password)}
    query = parts.query if parts is not None else uri.partition("?")[2]
    for key, value in parse_qsl(query, keep_blank_values=True):
        if value and _SECRET_QUERY_KEY.search(key):
            found.add(value)
    for match in re.finditer(r"[?&]([^=&#]+)=([^&#]*)", uri):
        if match.group(2) and _SECRET_QUERY_KEY.search(match.group(1)):
            found |= {match.group(2), unquote(match.group(2))}
    return found - {""}


def _redact_query_text(text: str) -> str:
    def hide(match: re.Match[str]) -> str:
        key = match.group(2)
        return f"{match.group(1)}{key}=***" if _SECRET_QUERY_KEY.search(key) else match.group(0)

    return re.sub(r"(^|[?&;])([^=&;#?]+)=([^&;#]*)", hide, text)


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
