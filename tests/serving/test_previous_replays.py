"""Production's requests replayed on the previous Production version (``--previous-share``):
the figures the comparative rollback alerts compare, on a real service and a real registry."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks, until

pytestmark = pytest.mark.slow  # starts the real service


def test_production_requests_are_replayed_on_the_version_before_it(
    register, registry, start_service, clip: Path
) -> None:
    first, second, third = register(seed=0), register(seed=1), register(seed=2)
    registry.promote_model(first, "Production")
    registry.promote_model(second, "Production")
    service = start_service("--previous-share", "1")
    service.wait_ready()
    service.wait_for(lambda: service.serving("previous") == first, 60, "version 1 replayed")
    assert service.metric("edm_model_version", variant="previous") == first

    for _ in range(3):
        answer = service.predict(clip)
        assert answer.status_code == 200 and answer.json()["model"]["version"] == second
    # A client cannot ask for the previous version: it only replays.
    assert service.predict(clip, params={"variant": "previous"}).status_code == 422
    assert until(
        lambda: service.metric("edm_analyses_total", variant="previous", result="ok") == 3
    ), service.log()[-3000:]
    assert service.metric("edm_analyses_total", variant="production", result="ok") == 3
    assert service.metric("edm_inference_duration_seconds_count", variant="previous") == 3
    assert service.metric("edm_prediction_confidence_count", variant="previous") == 3

    # A promotion: the version leaving Production becomes the previous one.
    registry.promote_model(third, "Production")
    service.wait_for(lambda: service.serving("production") == third, 60, "version 3 served")
    assert service.serving("previous") == second
    # Rolled back to version 2: version 1 is the one before it again.
    registry.rollback(reason="test")
    service.wait_for(lambda: service.serving("production") == second, 60, "version 2 back")
    service.wait_for(lambda: service.serving("previous") == first, 60, "version 1 again")
    answer = service.predict(clip)
    assert answer.status_code == 200
    assert until(
        lambda: service.metric("edm_analyses_total", variant="previous", result="ok") == 4
    ), service.log()[-3000:]
    no_tracebacks(service.stop())


def test_without_auto_rollback_nothing_is_replayed_by_default(
    register, registry, start_service, clip: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    registry.promote_model(register(seed=1), "Production")
    service = start_service()
    service.wait_ready()
    assert "previous" not in service.client.get("/model/info").json()["variants"]
    assert service.predict(clip).status_code == 200
    assert service.metric("edm_analyses_total", variant="previous") == 0
    no_tracebacks(service.stop())
