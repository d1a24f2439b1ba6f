"""A real Prometheus (Debian's package) scrapes a real `edm serve` on loopback, evaluates the
repository's rules, and answers every expression of the rules and the dashboards: each must
parse and read only metrics the service really exports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.deploy.deploy_files import (
    RULE_FILES,
    dashboard_expressions,
    metric_names,
    recorded_names,
    require_tool,
    rule_expressions,
    rules,
)
from tests.deploy.prometheus_server import PrometheusServer

# Series Prometheus makes itself for every target.
PROMETHEUS_OWN = {"up", "scrape_duration_seconds", "scrape_samples_scraped"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "gauge": ("",),
}


def exported_names(exposition: str) -> set[str]:
    """Every series name /metrics exposes, families without samples yet included (a labelled
    metric nobody has touched is declared by its HELP and TYPE lines)."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        names |= {sample.name for sample in family.samples}
    return names


@pytest.mark.slow
def test_a_real_prometheus_scrapes_the_service_and_evaluates_every_rule_and_panel(
    register, registry, start_service, clip: Path, tmp_path: Path
) -> None:
    prometheus_binary = require_tool("prometheus")
    promtool = require_tool("promtool")
    version = register(seed=0)
    broken = register(seed=9, broken=True)
    registry.promote_model(version, "Production")
    service = start_service()
    service.wait_ready()
    target = f"127.0.0.1:{service.port}"
    prometheus = PrometheusServer(prometheus_binary, tmp_path / "prometheus", target)
    checked = subprocess.run([promtool, "check", "config", str(prometheus.config_file)],
                             capture_output=True, text=True, timeout=60)  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    prometheus.start()
    try:
        # The service is a healthy target before the traffic, so that rates see it.
        def edm_target_up() -> bool:
            targets = prometheus.api("targets", state="active")["activeTargets"]
            return any(t["labels"]["job"] == "edm-serve" and t["health"] == "up" for t in targets)

        prometheus.wait_for(edm_target_up, "the edm-serve target up")
        (up,) = prometheus.query('up{job="edm-serve"}')
        assert up["value"][1] == "1"

        def answered_by_status() -> dict[str, float]:
            result = prometheus.query('sum by (status) (edm_requests_total{route="/predict"})')
            return {sample["metric"]["status"]: float(sample["value"][1]) for sample in result}

        # A counter's series starts at its first increment: Prometheus must see it once
        # before the next requests, or a rate has no increase to see.
        response = service.predict(clip)
        assert response.status_code == 200, response.text
        prometheus.wait_for(lambda: answered_by_status() == {"200": 1.0}, "the first request")
        for _ in range(2):
            response = service.predict(clip)
            assert response.status_code == 200, response.text
        bad = service.client.post(
            "/predict", content=b"this is not audio", headers={"Content-Type": "audio/wav"}
        )
        assert bad.status_code == 422, bad.text
        exported = exported_names(service.client.get("/metrics").text)

        prometheus.wait_for(lambda: answered_by_status() == {"200": 3.0, "422": 1.0},
                            "the 4 /predict requests in Prometheus")  # fmt: skip

        # Every rule of the repository is loaded and evaluates without error.
        def rule_states() -> list[dict]:
            groups = prometheus.api("rules")["groups"]
            states = [rule for group in groups for rule in group["rules"]]
            evaluated = all(rule["lastEvaluation"] > "0001-01-01T00:00:00Z" for rule in states)
            return states if evaluated and len(states) == len(rules()) else []

        states = prometheus.wait_for(rule_states, "every rule evaluated once")
        assert {rule["health"] for rule in states} == {"ok"}, [
            (rule["name"], rule.get("lastError")) for rule in states if rule["health"] != "ok"
        ]
        groups = {group["file"] for group in prometheus.api("rules")["groups"]}
        assert groups == {str(path) for path in RULE_FILES}

        # The version label of the degradation alerts comes out of the service's gauge.
        def production_version_label() -> list[str]:
            joined = prometheus.query(
                'count_values("version", max(edm_model_version{variant="production"}))'
            )
            return [sample["metric"]["version"] for sample in joined]

        assert prometheus.wait_for(production_version_label, "the version label") == [str(version)]
        # The recording rules see the traffic.
        prometheus.wait_for(
            lambda: prometheus.query('edm:predict_requests:rate5m{variant="production"} > 0'),
            "the request rate recorded",
        )

        # Every expression of the rules and the dashboards parses and reads real metrics.
        known = exported | recorded_names() | PROMETHEUS_OWN
        for where, expr in rule_expressions() + dashboard_expressions():
            prometheus.query(expr)  # fails with Prometheus's parse error
            unknown = metric_names(expr) - known
            assert not unknown, f"{where}: {sorted(unknown)} not exported by the service"

        # Nothing is wrong with this service; an untrained tiny model may be unsure of itself
        # (low confidence is the one alert that may be pending), and says which version. It is
        # for a person: with no previous version to compare with, nothing asks for a rollback.
        active = prometheus.api("alerts")["alerts"]
        assert {alert["labels"]["alertname"] for alert in active} <= {"EdmLowConfidence"}, active
        for alert in active:
            assert alert["labels"]["version"] == str(version), alert
            assert "degradation" not in alert["labels"], alert

        # Promote a version that cannot load: the failure counter's series starts at 1, and
        # EdmModelReloadFailed fires all the same; the served and registry versions differ.
        registry.promote_model(broken, "Production")

        def reload_failed_and_mismatch() -> dict[str, dict]:
            states = {a["labels"]["alertname"]: a for a in prometheus.api("alerts")["alerts"]}
            failed = states.get("EdmModelReloadFailed", {}).get("state") == "firing"
            return states if failed and "EdmServedVersionMismatch" in states else {}

        states = prometheus.wait_for(reload_failed_and_mismatch, "the failed reload alerted")
        assert states["EdmModelReloadFailed"]["labels"]["severity"] == "warning"
        mismatch = states["EdmServedVersionMismatch"]
        assert mismatch["state"] == "pending"  # for 10 minutes
        assert float(mismatch["value"]) == version  # the version still served
        assert str(broken) in mismatch["annotations"]["description"]
    finally:
        prometheus.stop()
    assert "level=error" not in prometheus.log(), prometheus.log()[-3000:]
