"""--workers N: every worker follows the alias, and /metrics adds up all workers' numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks


@pytest.mark.slow
def test_two_workers_follow_the_alias_and_share_their_metrics(
    register, registry, start_service, clip: Path
) -> None:
    first, second = register(seed=0), register(seed=1)
    registry.promote_model(first, "Production")
    service = start_service("--workers", "2")
    service.wait_ready()

    # Each request may land on either worker (new connections): both must have loaded the
    # model. /metrics adds up the workers, so two successful loads means both are ready
    # (asking /ready a few times could reach the same worker every time).
    def every_worker_ready() -> bool:
        return service.metric("edm_model_reload_total", result="success") == 2

    service.wait_for(every_worker_ready, 60, "every worker ready")
    sent = 10
    for _ in range(sent):
        with_new_connection = service.client.post(
            "/predict",
            content=clip.read_bytes(),
            headers={"Content-Type": "audio/wav", "Connection": "close"},
        )
        assert with_new_connection.status_code == 200
    assert service.metric("edm_requests_total", route="/predict", status="200") == sent
    assert service.metric("edm_inference_duration_seconds_count", variant="production") == sent

    registry.promote_model(second, "Production")

    def all_on_second() -> bool:
        versions = {
            service.client.post(
                "/predict",
                content=clip.read_bytes(),
                headers={"Content-Type": "audio/wav", "Connection": "close"},
            ).headers.get("X-EDM-Model-Version")
            for _ in range(6)
        }
        return versions == {str(second)}

    # Both workers swap: two successful loads of the first version, two of the second. Waited
    # for first, since six answers from the new version could all come from one worker.
    def every_worker_swapped() -> bool:
        return service.metric("edm_model_reload_total", result="success") == 4

    service.wait_for(every_worker_swapped, 60, "both workers loaded the new version")
    service.wait_for(all_on_second, 60, "both workers answer with the new version")
    assert service.metric("edm_model_info", variant="production", version=str(second)) == 1
    no_tracebacks(service.stop())
