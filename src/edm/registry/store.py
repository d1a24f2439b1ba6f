"""The MLflow client edm talks through, with its failures turned into edm errors.

The client does not quiet MLflow's own printing (progress bars, "View run at" links): that is
set once per process by the entry point, from ``settings.mlflow_environment_defaults``.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from edm.errors import EdmError, PermissionDeniedError, StoreError, interrupt_behind
from edm.settings import StoreLocation, current_user, uri_secrets

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)

_DENIED = {"PERMISSION_DENIED", "UNAUTHENTICATED"}


# Store contention that goes away when tried again: SQLite's single writer, PostgreSQL's
# serialisation failures. The failed transaction was rolled back, so a retry cannot duplicate.
_TRANSIENT = (
    "database is locked",
    "database table is locked",
    "deadlock detected",
    "could not serialize access",
)
RETRY_BUDGET_S = 120.0


class StoreConnection:
    """One tracking store and the client to it, made on first use and shared by the parts."""

    def __init__(self, location: StoreLocation) -> None:
        self.location = location
        self._client: RetryingClient | None = None

    @property
    def client(self) -> RetryingClient:
        if self._client is None:
            self._client = make_client(self.location)
        return self._client

    def errors(self, what: str) -> AbstractContextManager[None]:
        return store_errors(self.location, what)


def make_client(location: StoreLocation) -> RetryingClient:
    from mlflow.tracking import MlflowClient

    def connect() -> RetryingClient:
        uri = location.tracking_uri
        return RetryingClient(MlflowClient(tracking_uri=uri, registry_uri=uri))

    if location.local_dir is None:
        from edm.registry.reachability import unreachable_reason

        reason = unreachable_reason(location.tracking_uri)
        if reason is not None:
            raise StoreError(f"the tracking store cannot be reached: {scrub(reason, location)}")
        return connect()
    return _open_local_store(location, connect)


def _open_local_store(
    location: StoreLocation, connect: Callable[[], RetryingClient]
) -> RetryingClient:
    """Create the SQLite store once, whoever comes first, and switch it to WAL.

    Several processes opening a new store at once would each run MLflow's migrations; a file
    lock makes the first one do it while the others wait. WAL lets readers go on while one
    process writes, which is most of what concurrent training runs do.
    """
    import fcntl
    import sqlite3

    assert location.local_dir is not None
    location.local_dir.mkdir(parents=True, exist_ok=True)
    db_path = location.tracking_uri.removeprefix("sqlite:///")
    with open(location.local_dir / ".edm-store.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            client = connect()
            client.search_experiments(max_results=1)  # MLflow creates the tables here if new
            with sqlite3.connect(db_path, timeout=60) as connection:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return client


def is_transient(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(marker in text for marker in _TRANSIENT)


class RetryingClient:
    """The MlflowClient with every call retried, with backoff, on transient store contention."""

    def __init__(self, client: MlflowClient, budget_s: float = RETRY_BUDGET_S) -> None:
        self._client = client
        self._budget_s = budget_s

    @property
    def unwrapped(self) -> MlflowClient:
        return self._client

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            deadline = time.monotonic() + self._budget_s
            delay = 0.02
            while True:
                try:
                    return attribute(*args, **kwargs)
                except Exception as exc:
                    if not is_transient(exc) or time.monotonic() + delay > deadline:
                        raise
                    log.debug("%s: store busy, retrying in %.2f s", name, delay)
                    time.sleep(delay * random.uniform(0.5, 1.5))
                    delay = min(delay * 2, 1.0)

        return call


def error_code(exc: BaseException) -> str | None:
    return getattr(exc, "error_code", None)


def is_not_found(exc: BaseException) -> bool:
    return error_code(exc) == "RESOURCE_DOES_NOT_EXIST"


# An unknown alias is "not found" on a tracking server, "invalid parameter" on an SQL store.
_UNKNOWN_ALIAS = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"}


def is_unknown_alias(exc: BaseException) -> bool:
    """What ``get_model_version_by_alias`` raises for an alias (or model) that does not exist."""
    return is_not_found(exc) or error_code(exc) in _UNKNOWN_ALIAS


def is_already_exists(exc: BaseException) -> bool:
    return error_code(exc) == "RESOURCE_ALREADY_EXISTS"


def scrub(text: str, location: StoreLocation) -> str:
    """Remove the store's password from a message before anyone sees it."""
    secrets = {os.environ.get("MLFLOW_TRACKING_PASSWORD") or ""}
    secrets |= uri_secrets(location.tracking_uri)
    for secret in sorted(secrets - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def translate(exc: BaseException, location: StoreLocation, what: str) -> EdmError:
    message = str(getattr(exc, "message", None) or exc).strip().splitlines()
    first = scrub(message[0] if message else type(exc).__name__, location)
    if error_code(exc) in _DENIED or "403" in first[:40] or "401" in first[:40]:
        return PermissionDeniedError(
            f"{what}: permission denied for user '{current_user()}' on {location.display_uri}"
        )
    return StoreError(f"{what} failed on {location.display_uri}: {first}")


@contextmanager
def store_errors(location: StoreLocation, what: str) -> Iterator[None]:
    """Let edm errors through; turn MLflow and connection failures into StoreError."""
    try:
        yield
    except EdmError:
        raise
    except Exception as exc:
        if (interrupt := interrupt_behind(exc)) is not None:
            raise interrupt from None  # Ctrl-C in the middle of a request is not a store failure
        # OSError includes requests' ConnectionError. SQLAlchemy and database-driver errors
        # reach us unwrapped when a store cannot be opened at all (an unreachable PostgreSQL
        # server, say).
        if isinstance(exc, (MlflowException, OSError)) or type(exc).__module__.split(".")[0] in (
            "sqlalchemy",
            "psycopg",
            "psycopg2",
        ):
            raise translate(exc, location, what) from exc
        raise
