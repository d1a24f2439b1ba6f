"""The promotion lock on a real SQLite store: taken, released, waited for, timed out, broken
(a lease that expired, a local holder that died), and never held twice by stale-breakers."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from edm.errors import StoreError
from edm.registry import ModelRegistry
from edm.registry.lock import (
    LOCK_STALE_AFTER_S,
    LOCK_TIMEOUT_S,
    holders,
    lock_name,
    registry_lock,
)

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

MODEL = "edm-structure-detector"


def lock_models(registry: ModelRegistry) -> list[str]:
    found = registry.client.search_registered_models(f"name LIKE '{lock_name(MODEL)}%'")
    return sorted(m.name for m in found)


def crashed_holder(registry: ModelRegistry, generation: int = 1, lease_s: float = 0.05) -> str:
    """What a holder on another machine that crashed mid-promotion leaves behind."""
    name = f"{lock_name(MODEL)}.{generation}"
    registry.client.create_registered_model(
        name,
        tags={
            "edm.lock.owner": "carol@elsewhere:4242",
            "edm.lock.host": "elsewhere/pid:[1]",
            "edm.lock.pid": "4242",
            "edm.lock.lease_s": str(lease_s),
        },
    )
    return name


def test_the_lock_is_a_registered_model_held_for_the_block(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    with registry_lock(registry.client, MODEL) as handle:
        lock = registry.client.get_registered_model(handle.name)
        assert handle.name == f"{lock_name(MODEL)}.1"
        assert lock.tags["edm.lock.owner"].startswith("alice@")
    assert lock_models(registry) == []


def test_the_lock_is_released_when_the_block_fails(registry: ModelRegistry) -> None:
    with pytest.raises(RuntimeError), registry_lock(registry.client, MODEL):
        raise RuntimeError("promotion failed")
    assert lock_models(registry) == []


def test_a_second_taker_waits_for_the_holder(
    make_registry: Callable[..., ModelRegistry],
) -> None:
    holder, waiter = make_registry(), make_registry()
    taken, order = threading.Event(), []

    def hold() -> None:
        with registry_lock(holder.client, MODEL):
            taken.set()
            time.sleep(1.0)
            order.append("holder done")

    thread = threading.Thread(target=hold)
    thread.start()
    assert taken.wait(30)
    with registry_lock(waiter.client, MODEL, timeout_s=30):
        order.append("waiter in")
    thread.join()
    assert order == ["holder done", "waiter in"]


def test_a_second_taker_times_out_naming_the_holder_since_and_expiry(
    make_registry: Callable[..., ModelRegistry], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    holder, waiter = make_registry(), make_registry()
    with registry_lock(holder.client, MODEL):
        started = time.monotonic()
        with (
            pytest.raises(StoreError) as refused,
            registry_lock(waiter.client, MODEL, timeout_s=1.0),
        ):
            pytest.fail("the lock was taken twice")
        assert time.monotonic() - started >= 1.0  # it waited before giving up
    message = str(refused.value)
    assert message.startswith(
        f"could not take the promotion lock of '{MODEL}' within 1 s: another promotion holds "
        "it: held by alice@"
    )
    assert re.search(
        r"since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, expires \d\d:\d\d:\d\d UTC", message
    )
    assert f"(registered model '{lock_name(MODEL)}.1')" in message


def test_the_wait_outlasts_the_lease(backend: str) -> None:
    """The first retry after a crash must not fail: a waiter outlives a crashed holder."""
    assert LOCK_TIMEOUT_S > LOCK_STALE_AFTER_S


def test_a_lock_whose_lease_expired_is_broken(registry: ModelRegistry) -> None:
    name = crashed_holder(registry, lease_s=3600)
    with (
        pytest.raises(StoreError, match="held by carol@elsewhere:4242"),
        registry_lock(registry.client, MODEL, timeout_s=0.5),
    ):
        pass
    assert lock_models(registry) == [name]  # not stale yet: left alone
    registry.client.set_registered_model_tag(name, "edm.lock.lease_s", "0.05")
    time.sleep(0.1)
    with registry_lock(registry.client, MODEL, timeout_s=10) as handle:
        assert handle.name == f"{lock_name(MODEL)}.2"  # the next generation: ours
        assert [h.name for h in handle.abandoned] == [name]
    assert lock_models(registry) == []  # the crashed holder moved nothing: nothing kept


def test_a_dead_holder_on_this_machine_is_broken_at_once(
    registry: ModelRegistry, store_uri: str
) -> None:
    script = (
        "import sys, time\n"
        "from edm.registry import ModelRegistry\n"
        "from edm.registry.lock import registry_lock\n"
        f"reg = ModelRegistry(tracking_uri={store_uri!r}, model_name={MODEL!r})\n"
        "with registry_lock(reg.client, reg.model_name):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "held"
        [held] = holders(registry.client, MODEL)
        assert not held.stale  # alive: a lease of 90 s
    finally:
        process.kill()
        process.wait()
    [dead] = holders(registry.client, MODEL)
    assert dead.stale  # its process is gone: no need to wait for the lease
    started = time.monotonic()
    with registry_lock(registry.client, MODEL, timeout_s=10):
        assert time.monotonic() - started < 5
    assert lock_models(registry) == []


def test_waiters_breaking_the_same_stale_lock_never_both_hold_it(
    make_registry: Callable[..., ModelRegistry],
) -> None:
    crashed_holder(make_registry())
    time.sleep(0.1)
    inside, most, taken = [0], [0], []
    guard = threading.Lock()

    def take(index: int) -> None:
        with registry_lock(make_registry().client, MODEL, timeout_s=60):
            with guard:
                inside[0] += 1
                most[0] = max(most[0], inside[0])
            time.sleep(0.1)
            with guard:
                inside[0] -= 1
                taken.append(index)

    threads = [threading.Thread(target=take, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(taken) == list(range(6))
    assert most[0] == 1
