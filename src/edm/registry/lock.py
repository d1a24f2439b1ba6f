"""The promotion lock: one stage change of a model at a time, whoever makes it.

MLflow has no compare-and-swap on aliases, so two people promoting at once could each archive a
stale "previous production". Registered-model names are unique in every store (SQLite,
PostgreSQL, a tracking server), so creating a registered model is an atomic test-and-set that
works through the public API everywhere.

The lock has generations: taking it creates ``<model>.edm-lock.<n>``, one more than the newest
generation there, and only when every existing generation is stale (its holder is gone). Two
waiters that both find a stale holder both try to create the same next generation, and only
one can: breaking a stale lock never deletes anything another waiter could hold. After
creating its generation a taker checks again that no newer generation exists and that every
older one is stale, else it steps back; so even a taker acting on an old listing never holds
the lock beside another.

A holder is stale once its lease expires (``LOCK_STALE_AFTER_S`` after it was taken, by the
store's clock), or at once when it was a process on this machine that no longer runs. The
wait (``LOCK_TIMEOUT_S``) outlasts the lease, so a waiter always outlives a crashed holder.

The generation model is also the promotion's journal: the holder writes its intent there
(``record_intent``) before it moves anything, and deletes the generation when done. A taker
gets the intents of stale generations (``abandoned``) to finish them (``promotion``).
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from edm.errors import StoreError
from edm.registry.store import is_already_exists, is_not_found
from edm.settings import current_user

if TYPE_CHECKING:
    from mlflow.entities.model_registry import RegisteredModel
    from mlflow.tracking import MlflowClient

    from edm.registry.store import RetryingClient

    Client = MlflowClient | RetryingClient

log = logging.getLogger(__name__)

LOCK_SUFFIX = ".edm-lock"
LOCK_TIMEOUT_S = 120.0
LOCK_STALE_AFTER_S = 90.0  # a holder that crashed mid-promotion is presumed gone after this
OWNER_TAG = "edm.lock.owner"
HOST_TAG = "edm.lock.host"
PID_TAG = "edm.lock.pid"
LEASE_TAG = "edm.lock.lease_s"
INTENT_TAG = "edm.lock.intent"


def lock_name(model_name: str) -> str:
    return model_name + LOCK_SUFFIX


@dataclass(frozen=True)
class Holder:
    """One generation of the lock as found in the store."""

    name: str
    generation: int
    owner: str
    since: datetime
    expires: datetime
    stale: bool
    intent: str | None

    def describe(self) -> str:
        return (
            f"held by {self.owner} since {self.since:%Y-%m-%d %H:%M:%S} UTC, "
            f"expires {self.expires:%H:%M:%S} UTC (registered model '{self.name}')"
        )


@dataclass
class LockHandle:
    """The lock as held: where to write the intent, and what crashed holders left."""

    client: Any
    name: str
    abandoned: list[Holder] = field(default_factory=list)
    keep: bool = False  # leave the generation (and its intent) for a later taker

    def record_intent(self, text: str) -> None:
        self.client.set_registered_model_tag(self.name, INTENT_TAG, text)

    def clear_intent(self) -> None:
        self.client.delete_registered_model_tag(self.name, INTENT_TAG)

    def forget(self, holder: Holder) -> None:
        """Delete a stale generation once what it left is settled."""
        with suppress(MlflowException):
            self.client.delete_registered_model(holder.name)
        self.abandoned = [h for h in self.abandoned if h.name != holder.name]


def this_host() -> str:
    """This machine and process namespace: a pid means the same process only within it."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        namespace = "?"
    return f"{socket.gethostname()}/{namespace}"


def holders(
    client: Client, model_name: str, stale_after_s: float = LOCK_STALE_AFTER_S
) -> list[Holder]:
    """Every generation of the model's lock now in the store, oldest first."""
    prefix = lock_name(model_name) + "."
    escaped = prefix.replace("'", "\\'")
    found: list[Holder] = []
    token = None
    while True:
        page = client.search_registered_models(
            f"name LIKE '{escaped}%'", max_results=100, page_token=token
        )
        for model in page:
            suffix = model.name[len(prefix) :]
            if model.name.startswith(prefix) and suffix.isdigit():
                found.append(_holder(model, int(suffix), stale_after_s))
        token = page.token
        if not token:
            break
    return sorted(found, key=lambda h: h.generation)


def _holder(model: RegisteredModel, generation: int, stale_after_s: float) -> Holder:
    tags = dict(model.tags or {})
    since = datetime.fromtimestamp((model.creation_timestamp or 0) / 1000, UTC)
    try:
        lease = float(tags.get(LEASE_TAG, stale_after_s))
    except ValueError:
        lease = stale_after_s
    expires_ts = since.timestamp() + lease
    gone = tags.get(HOST_TAG) == this_host() and not _alive(tags.get(PID_TAG, ""))
    return Holder(
        name=model.name,
        generation=generation,
        owner=tags.get(OWNER_TAG, "an unknown process"),
        since=since,
        expires=datetime.fromtimestamp(expires_ts, UTC),
        stale=gone or time.time() > expires_ts,
        intent=tags.get(INTENT_TAG),
    )


def _alive(pid_text: str) -> bool:
    """Whether a process of this machine runs (True when unsure: only a sure death counts)."""
    if not pid_text.isdigit():
        return True
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is gone
    except (OSError, IndexError):
        return True


@contextmanager
def registry_lock(
    client: Client,
    model_name: str,
    *,
    timeout_s: float = LOCK_TIMEOUT_S,
    stale_after_s: float = LOCK_STALE_AFTER_S,
) -> Iterator[LockHandle]:
    """Hold the model's promotion lock for the duration of the block."""
    owner = f"{current_user()}@{socket.gethostname()}:{os.getpid()}"
    tags = {
        OWNER_TAG: owner,
        HOST_TAG: this_host(),
        PID_TAG: str(os.getpid()),
        LEASE_TAG: f"{stale_after_s:g}",
    }
    deadline = time.monotonic() + timeout_s
    handle: LockHandle | None = None
    while handle is None:
        present = holders(client, model_name, stale_after_s)
        live = [h for h in present if not h.stale]
        if not live:
            generation = (present[-1].generation if present else 0) + 1
            handle = _take(client, model_name, generation, owner, tags, stale_after_s)
            if handle is not None:
                break
            live = [h for h in holders(client, model_name, stale_after_s) if not h.stale]
        if time.monotonic() > deadline:
            holder = f": {live[-1].describe()}" if live else ""
            raise StoreError(
                f"could not take the promotion lock of '{model_name}' within "
                f"{timeout_s:.0f} s: another promotion holds it{holder}"
            )
        time.sleep(random.uniform(0.05, 0.25))
    try:
        yield handle
    finally:
        if not handle.keep:
            _release(handle)


def _take(
    client: Client,
    model_name: str,
    generation: int,
    owner: str,
    tags: dict[str, str],
    stale_after_s: float,
) -> LockHandle | None:
    """Create the generation and check it is the only live one; None when another won."""
    name = f"{lock_name(model_name)}.{generation}"
    try:
        client.create_registered_model(
            name, tags=tags, description=f"Promotion lock of {model_name} (edm), held by {owner}."
        )
    except MlflowException as exc:
        # A tracking server can also answer "does not exist" when the holder released
        # the lock while this request was being handled: either way, it was taken.
        if is_already_exists(exc) or is_not_found(exc):
            return None
        raise
    others = [h for h in holders(client, model_name, stale_after_s) if h.name != name]
    if any(h.generation > generation or not h.stale for h in others):
        with suppress(MlflowException):
            client.delete_registered_model(name)
        return None
    for holder in others:
        log.warning("broke the stale promotion lock %s (%s)", holder.name, holder.describe())
    return LockHandle(client=client, name=name, abandoned=others)


def _release(handle: LockHandle) -> None:
    for holder in list(handle.abandoned):
        if holder.intent is None:  # nothing left to finish: the crashed holder moved nothing
            handle.forget(holder)
    try:
        handle.client.delete_registered_model(handle.name)
    except MlflowException as exc:
        log.warning("could not release the promotion lock %s: %s", handle.name, exc)
