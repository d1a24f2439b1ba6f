"""The promotion lock: one stage change of a model at a time, whoever makes it.

MLflow has no compare-and-swap on aliases, so two people promoting at once could each archive a
stale "previous production". Registered-model names are unique in every store (SQLite,
PostgreSQL, a tracking server), so creating a registered model named after the lock is an
atomic test-and-set that works through the public API everywhere.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException

from edm.errors import StoreError
from edm.registry.store import is_already_exists, is_not_found
from edm.settings import current_user

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from edm.registry.store import RetryingClient

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".edm-lock"
LOCK_TIMEOUT_S = 60.0
LOCK_STALE_AFTER_S = 120.0  # a holder that crashed mid-promotion is presumed gone after this


def lock_name(model_name: str) -> str:
    return model_name + LOCK_SUFFIX


@contextmanager
def registry_lock(
    client: MlflowClient | RetryingClient,
    model_name: str,
    *,
    timeout_s: float = LOCK_TIMEOUT_S,
    stale_after_s: float = LOCK_STALE_AFTER_S,
) -> Iterator[None]:
    """Hold the model's promotion lock for the duration of the block."""
    name = lock_name(model_name)
    owner = f"{current_user()}@{socket.gethostname()}:{os.getpid()}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.create_registered_model(
                name,
                tags={"edm.lock.owner": owner},
                description=f"Promotion lock of {model_name}, held by {owner} (edm).",
            )
            break
        except MlflowException as exc:
            # A tracking server can also answer "does not exist" when the holder released
            # the lock while this request was being handled: either way, it was taken.
            if not (is_already_exists(exc) or is_not_found(exc)):
                raise
        _break_if_stale(client, name, stale_after_s)
        if time.monotonic() > deadline:
            raise StoreError(
                f"could not take the promotion lock of '{model_name}' within "
                f"{timeout_s:.0f} s: another promotion holds it (registered model '{name}'); "
                f"it is broken automatically once {stale_after_s:.0f} s old"
            )
        time.sleep(random.uniform(0.05, 0.25))
    try:
        yield
    finally:
        try:
            client.delete_registered_model(name)
        except MlflowException as exc:
            log.warning("could not release the promotion lock %s: %s", name, exc)


def _break_if_stale(client: MlflowClient | RetryingClient, name: str, stale_after_s: float) -> None:
    try:
        lock = client.get_registered_model(name)
    except MlflowException:
        return
    age_s = time.time() - (lock.creation_timestamp or 0) / 1000
    if age_s > stale_after_s:
        log.warning("breaking stale promotion lock %s (%.0f s old)", name, age_s)
        with suppress(MlflowException):
            client.delete_registered_model(name)
