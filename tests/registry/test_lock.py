"""The promotion lock on a real SQLite store: taken, released, waited for, timed out, broken."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from mlflow.exceptions import MlflowException

from edm.errors import StoreError
from edm.registry import ModelRegistry
from edm.registry.lock import lock_name, registry_lock

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

MODEL = "edm-structure-detector"


def lock_exists(registry: ModelRegistry) -> bool:
    try:
        registry.client.get_registered_model(lock_name(MODEL))
    except MlflowException:
        return False
    return True


def test_the_lock_is_a_registered_model_held_for_the_block(
    registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "alice")
    with registry_lock(registry.client, MODEL):
        lock = registry.client.get_registered_model(lock_name(MODEL))
        assert lock.tags["edm.lock.owner"].startswith("alice@")
    assert not lock_exists(registry)


def test_the_lock_is_released_when_the_block_fails(registry: ModelRegistry) -> None:
    with pytest.raises(RuntimeError), registry_lock(registry.client, MODEL):
        raise RuntimeError("promotion failed")
    assert not lock_exists(registry)


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


def test_a_second_taker_times_out_with_a_clear_message(
    make_registry: Callable[..., ModelRegistry],
) -> None:
    holder, waiter = make_registry(), make_registry()
    with registry_lock(holder.client, MODEL):
        started = time.monotonic()
        with (
            pytest.raises(StoreError) as refused,
            registry_lock(waiter.client, MODEL, timeout_s=1.0),
        ):
            pytest.fail("the lock was taken twice")
        assert time.monotonic() - started >= 1.0  # it waited before giving up
    assert str(refused.value) == (
        f"could not take the promotion lock of '{MODEL}' within 1 s: another promotion holds "
        f"it (registered model '{MODEL}.edm-lock'); it is broken automatically once 120 s old"
    )


def test_a_stale_lock_is_broken(registry: ModelRegistry) -> None:
    # What a holder that crashed mid-promotion leaves behind.
    registry.client.create_registered_model(lock_name(MODEL))
    with (
        pytest.raises(StoreError, match="could not take the promotion lock"),
        registry_lock(registry.client, MODEL, timeout_s=0.5),
    ):
        pass
    assert lock_exists(registry)  # not stale yet: left alone
    time.sleep(0.1)
    with registry_lock(registry.client, MODEL, timeout_s=10, stale_after_s=0.05):
        lock = registry.client.get_registered_model(lock_name(MODEL))
        assert "edm.lock.owner" in lock.tags  # ours now, not the crashed holder's
    assert not lock_exists(registry)
