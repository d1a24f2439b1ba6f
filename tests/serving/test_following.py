"""The service follows the registry: no Production at start, a promotion under load, a version
that cannot load, and the MLflow webhook with good and bad signatures."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks, until

from edm.serving.webhook import sign

pytestmark = pytest.mark.slow  # each test starts the real service (10-20 s on 2 busy cores)


def test_starts_without_production_and_answers_once_one_is_promoted(
    register, registry, start_service, clip: Path
) -> None:
    service = start_service()
    service.wait_for(lambda: service.client.get("/model/info").json()["last_poll"], 30, "a poll")
    not_ready = service.client.get("/ready")
    assert not_ready.status_code == 503 and not_ready.headers["Retry-After"]
    assert "no version is in Production" in not_ready.json()["error"]
    refused = service.predict(clip)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert "no Production model" in refused.json()["error"]
    body, headers = _delivery("any", {"entity": "model_version_alias", "data": {}})
    hook = service.client.post("/hooks/mlflow", content=body, headers=headers)
    assert hook.status_code == 404 and "EDM_WEBHOOK_SECRET" in hook.json()["error"]

    registry.promote_model(register(seed=0), "Production")
    service.wait_ready()
    answer = service.predict(clip)
    assert answer.status_code == 200 and answer.json()["model"]["version"] == 1
    no_tracebacks(service.stop())


def test_a_promotion_under_load_is_picked_up_with_no_failed_request(
    register, registry, start_service, clip: Path
) -> None:
    first, second = register(seed=0), register(seed=1)
    registry.promote_model(first, "Production")
    service = start_service()
    service.wait_ready()
    answers: list[tuple[int, int | None]] = []
    stop = threading.Event()

    def load() -> None:  # a bounded loop: it ends when told, or after 60 s
        deadline = time.monotonic() + 60
        while not stop.is_set() and time.monotonic() < deadline:
            response = service.predict(clip)
            version = response.json()["model"]["version"] if response.status_code == 200 else None
            answers.append((response.status_code, version))

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    until(lambda: len(answers) >= 4, 30)
    registry.promote_model(second, "Production")
    promoted_at = len(answers)
    reached = until(lambda: any(v == second for _, v in answers[promoted_at:]), 30)
    until(lambda: len(answers) >= promoted_at + 8, 20)  # and it keeps answering with it
    stop.set()
    for thread in threads:
        thread.join()
    assert reached, answers
    assert [status for status, _ in answers].count(200) == len(answers), answers
    versions = [v for _, v in answers]
    switch = versions.index(second)
    assert set(versions[:switch]) == {first}
    # Once swapped, no request goes back to the old model (two threads: allow the one in flight).
    assert versions[switch + 2 :].count(first) == 0, versions
    assert service.metric("edm_model_info", variant="production", version=str(second)) == 1
    assert service.metric("edm_model_info", variant="production", version=str(first)) == 0
    no_tracebacks(service.stop())


def test_a_version_that_cannot_load_leaves_the_old_one_serving(
    register, registry, start_service, clip: Path
) -> None:
    good = register(seed=0)
    registry.promote_model(good, "Production")
    service = start_service()
    service.wait_ready()
    broken = register(seed=9, broken=True)
    registry.promote_model(broken, "Production")

    def failure_reported() -> bool:
        production = service.client.get("/model/info").json()["variants"]["production"]
        return (production["last_failure"] or {}).get("version") == broken

    service.wait_for(failure_reported, 30, "the failed load in /model/info")
    production = service.client.get("/model/info").json()["variants"]["production"]
    assert production["alias_version"] == broken
    assert production["loaded"]["version"] == good
    assert "checkpoint" in production["last_failure"]["error"].lower()
    answer = service.predict(clip)
    assert answer.status_code == 200 and answer.headers["X-EDM-Model-Version"] == str(good)
    assert service.client.get("/ready").status_code == 200
    assert service.metric("edm_model_reload_total", result="failure") == 1
    time.sleep(2.5)  # more polls: the broken version is not retried in a loop
    assert service.metric("edm_model_reload_total", result="failure") == 1
    service.stop()


def _delivery(secret: str, payload: dict, *, age_s: int = 0) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    delivery_id, timestamp = str(uuid.uuid4()), str(int(time.time()) - age_s)
    return body, {
        "Content-Type": "application/json",
        "X-MLflow-Delivery-Id": delivery_id,
        "X-MLflow-Timestamp": timestamp,
        "X-MLflow-Signature": sign(secret, delivery_id, timestamp, body),
    }


def test_a_signed_webhook_reloads_at_once_and_a_bad_one_is_refused(
    register, registry, start_service, clip: Path
) -> None:
    secret = "hook-" + uuid.uuid4().hex
    first, second = register(seed=0), register(seed=1)
    registry.promote_model(first, "Production")
    # A poll every 10 minutes: only the webhook can make the service notice in time.
    service = start_service("--poll-interval", "600", env={"EDM_WEBHOOK_SECRET": secret})
    service.wait_ready()
    registry.promote_model(second, "Production")
    payload = {
        "entity": "model_version_alias",
        "action": "created",
        "timestamp": "2026-01-01T00:00:00+00:00",
        "data": {"name": "edm-structure-detector", "alias": "production", "version": str(second)},
    }
    body, headers = _delivery("wrong-secret", payload)
    refused = service.client.post("/hooks/mlflow", content=body, headers=headers)
    assert refused.status_code == 401 and "signature" in refused.json()["error"]
    body, headers = _delivery(secret, payload, age_s=3600)
    replayed = service.client.post("/hooks/mlflow", content=body, headers=headers)
    assert replayed.status_code == 401 and "replay" in replayed.json()["error"]
    unsigned = service.client.post("/hooks/mlflow", content=body)
    assert unsigned.status_code == 401
    time.sleep(2)
    assert service.serving("production") == first  # nothing moved on a refused delivery

    body, headers = _delivery(secret, payload)
    accepted = service.client.post("/hooks/mlflow", content=body, headers=headers)
    assert accepted.status_code == 200 and accepted.json()["reloading"] is True
    service.wait_for(lambda: service.serving("production") == second, 30, "the webhook reload")
    assert service.predict(clip).headers["X-EDM-Model-Version"] == str(second)
    assert secret not in service.stop()
