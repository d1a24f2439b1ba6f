"""The client edm talks through: retries on contention, passwords scrubbed, errors translated.

The retry logic is what is tested here, so the inner client is a fake that fails on cue; the
store itself is tested everywhere else, for real.
"""

from __future__ import annotations

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import (
    INVALID_PARAMETER_VALUE,
    PERMISSION_DENIED,
    RESOURCE_DOES_NOT_EXIST,
)

from edm.errors import EdmError, PermissionDeniedError, RegistryError, StoreError
from edm.registry.store import (
    RetryingClient,
    is_not_found,
    is_unknown_alias,
    scrub,
    store_errors,
    translate,
)
from edm.settings import StoreLocation

LOCKED = "(sqlite3.OperationalError) database is locked"


class FlakyClient:
    """Fails each call with the given errors, in order, then answers "done"."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.tracking_uri = "sqlite:///x.db"

    def search_experiments(self, *args: object, **kwargs: object) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def test_a_locked_database_is_retried_until_it_answers() -> None:
    inner = FlakyClient(MlflowException(LOCKED), MlflowException(LOCKED))
    assert RetryingClient(inner, budget_s=10).search_experiments(max_results=1) == "done"
    assert inner.calls == 3


@pytest.mark.parametrize(
    "error",
    [
        MlflowException("Registered Model with name=m not found", RESOURCE_DOES_NOT_EXIST),
        ValueError("bad filter"),
    ],
)
def test_other_errors_are_not_retried(error: Exception) -> None:
    inner = FlakyClient(error)
    with pytest.raises(type(error)):
        RetryingClient(inner).search_experiments()
    assert inner.calls == 1


def test_retrying_gives_up_when_the_budget_is_spent() -> None:
    inner = FlakyClient(*(MlflowException(LOCKED) for _ in range(1000)))
    with pytest.raises(MlflowException, match="database is locked"):
        RetryingClient(inner, budget_s=0.2).search_experiments()
    assert 1 < inner.calls < 1000


def test_attributes_that_are_not_calls_pass_through() -> None:
    inner = FlakyClient()
    client = RetryingClient(inner)
    assert client.tracking_uri == "sqlite:///x.db"
    assert client.unwrapped is inner


# ---------------------------------------------------------------- passwords


def test_scrub_removes_the_password_of_the_uri() -> None:
    location = StoreLocation("postgresql://edm:hunter2@db.example:5432/mlflow")
    text = "could not connect to postgresql://edm:hunter2@db.example:5432/mlflow (hunter2)"
    scrubbed = scrub(text, location)
    assert "hunter2" not in scrubbed
    assert scrubbed == "could not connect to postgresql://edm:***@db.example:5432/mlflow (***)"


def test_scrub_removes_a_percent_encoded_password_in_both_spellings() -> None:
    location = StoreLocation("postgresql://edm:p%40ss%2Fw0rd@db.example/mlflow")
    text = "url postgresql://edm:p%40ss%2Fw0rd@db.example/mlflow, password p@ss/w0rd"
    scrubbed = scrub(text, location)
    assert "p%40ss%2Fw0rd" not in scrubbed and "p@ss/w0rd" not in scrubbed


def test_scrub_removes_the_tracking_server_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cr3t-token")
    location = StoreLocation("https://mlflow.example")
    assert scrub("auth with s3cr3t-token failed", location) == "auth with *** failed"


def test_scrub_leaves_a_message_without_secrets_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_PASSWORD", raising=False)
    location = StoreLocation("http://127.0.0.1:5000")
    assert scrub("connection refused", location) == "connection refused"


# ---------------------------------------------------------------- translation


SERVER = StoreLocation("http://alice:pa55word@mlflow.example")


@pytest.mark.parametrize(
    "error",
    [
        MlflowException("Permission denied for model m", PERMISSION_DENIED),
        MlflowException("401 Client Error: UNAUTHORIZED for url"),
        MlflowException("403 Client Error: FORBIDDEN for url"),
    ],
)
def test_refusals_become_permission_denied(
    error: MlflowException, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    translated = translate(error, SERVER, "promoting version 3")
    assert isinstance(translated, PermissionDeniedError)
    assert str(translated) == (
        "promoting version 3: permission denied for user 'alice' on http://alice:***@mlflow.example"
    )


def test_other_failures_become_store_errors_with_the_first_line_scrubbed() -> None:
    error = MlflowException("boom at http://alice:pa55word@mlflow.example\nTraceback ...")
    translated = translate(error, SERVER, "listing models")
    assert type(translated) is StoreError
    assert str(translated) == (
        "listing models failed on http://alice:***@mlflow.example: "
        "boom at http://alice:***@mlflow.example"
    )


@pytest.mark.parametrize(
    ("error", "expected", "message"),
    [
        (MlflowException("server error"), StoreError, "reading aliases failed on"),
        (ConnectionRefusedError("refused"), StoreError, r"reading aliases failed .*: refused"),
        (RegistryError("as it was"), RegistryError, "as it was"),  # edm errors pass as they are
        (KeyError("x"), KeyError, "x"),  # a bug stays a bug
    ],
)
def test_store_errors_translates_store_failures_only(
    error: Exception, expected: type[Exception], message: str
) -> None:
    with pytest.raises(expected, match=message), store_errors(SERVER, "reading aliases"):
        raise error
    assert issubclass(StoreError, EdmError)


def test_an_interrupt_a_driver_wrapped_stays_an_interrupt() -> None:
    """Ctrl-C in the middle of a request is not a store failure (a run then ends KILLED)."""
    with pytest.raises(KeyboardInterrupt), store_errors(SERVER, "logging run 'r'"):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise MlflowException("API request failed") from None  # what a client does


def test_an_unknown_alias_is_not_found_whichever_code_the_store_answers() -> None:
    missing = MlflowException("not found", RESOURCE_DOES_NOT_EXIST)
    sql_answer = MlflowException("alias champion not found", INVALID_PARAMETER_VALUE)
    assert is_not_found(missing) and is_unknown_alias(missing)
    assert is_unknown_alias(sql_answer) and not is_not_found(sql_answer)
    assert not is_unknown_alias(MlflowException("server error"))
