"""Traffic to Staging: a sticky share of clients, and shadow replays with their agreement
metrics and the summary logged onto the Staging version's run."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks


@pytest.mark.slow
def test_staging_share_is_sticky_and_shadow_replays_are_counted_and_summarised(
    register, registry, start_service, clip: Path
) -> None:
    production, staging = register(seed=0), register(seed=1)
    registry.promote_model(production, "Production")
    registry.promote_model(staging, "Staging")
    service = start_service(
        "--staging-share", "0.5", "--shadow-share", "1.0", "--summary-interval", "1"
    )
    service.wait_ready()
    service.wait_for(lambda: service.serving("staging") == staging, 30, "staging loaded")

    sides: dict[str, set[int]] = {}
    for client in [f"client-{n}" for n in range(12)]:
        for _ in range(2):
            response = service.predict(clip, headers={"X-Client-Id": client})
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["model"]["variant"] == (
                "staging" if body["model"]["version"] == staging else "production"
            )
            sides.setdefault(client, set()).add(body["model"]["version"])
    assert all(len(versions) == 1 for versions in sides.values()), sides  # sticky
    on_staging = sum(versions == {staging} for versions in sides.values())
    assert 1 <= on_staging <= 11, sides  # 12 clients at 0.5: both sides get some
    production_answers = 2 * (len(sides) - on_staging)
    explicit = service.predict(clip, params={"variant": "staging"})
    assert explicit.json()["model"] == {
        "name": "edm-structure-detector",
        "version": staging,
        "variant": "staging",
    }

    def replayed() -> float:
        return service.metric("edm_shadow_requests_total", result="done") + service.metric(
            "edm_shadow_requests_total", result="dropped"
        )

    service.wait_for(lambda: replayed() == production_answers, 60, "every replay accounted")
    done = service.metric("edm_shadow_requests_total", result="done")
    assert done >= 1
    version = str(staging)
    assert service.metric("edm_shadow_beat_f_measure_count", staging_version=version) == done
    assert service.metric("edm_shadow_boundary_f_measure_count", staging_version=version) == done
    beat_f_sum = service.metric("edm_shadow_beat_f_measure_sum", staging_version=version)
    assert 0.0 <= beat_f_sum <= done

    def summary_logged() -> bool:
        record = registry.version_record(staging)
        return record is not None and record.metrics.get("shadow_requests") == done

    service.wait_for(summary_logged, 30, "the shadow summary on the Staging run")
    record = registry.version_record(staging)
    assert record.run_status == "FINISHED"
    assert 0.0 <= record.metrics["shadow_beat_f"] <= 1.0
    assert record.metrics["shadow_latency_p50_s"] > 0
    assert "shadow_bpm_agreement" in record.metrics
    assert "shadow_requests" not in registry.version_record(production).metrics
    no_tracebacks(service.stop())


@pytest.mark.slow
def test_a_full_shadow_queue_drops_work_instead_of_slowing_production(
    register, registry, start_service, clip: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    registry.promote_model(register(seed=1), "Staging")
    service = start_service("--shadow-share", "1.0", "--shadow-queue", "1")
    service.wait_for(lambda: service.serving("staging") is not None, 60, "staging loaded")
    service.wait_ready()
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: service.predict(clip).status_code, range(12)))
    assert answers.count(200) + answers.count(503) == 12 and answers.count(200) >= 4

    def settled() -> bool:
        done = service.metric("edm_shadow_requests_total", result="done")
        dropped = service.metric("edm_shadow_requests_total", result="dropped")
        return done + dropped == answers.count(200)

    service.wait_for(settled, 60, "every replay done or dropped")
    assert service.metric("edm_shadow_requests_total", result="dropped") >= 1
