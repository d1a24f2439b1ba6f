"""The compose stack runs the inference service beside the MLflow server, with health checks."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_runs_edm_serve_against_the_tracking_server_with_a_health_check() -> None:
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    edm = services["edm"]
    assert edm["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert edm["depends_on"]["mlflow"]["condition"] == "service_healthy"
    command = " ".join(edm["command"].split())
    assert command.startswith("edm serve --host 0.0.0.0 --port 8000")
    assert "8000:8000" in edm["ports"]
    assert "/health" in " ".join(edm["healthcheck"]["test"])
    # The webhook secret comes from the environment file, never the command line.
    assert "secret" not in command.lower()
    assert "${EDM_WEBHOOK_SECRET" in edm["environment"]["EDM_WEBHOOK_SECRET"]
    dockerfile = (DEPLOY / edm["build"]["dockerfile"].removeprefix("deploy/")).read_text()
    assert "edm" in dockerfile and "serve" in dockerfile
    assert "EDM_WEBHOOK_SECRET=" in (DEPLOY / ".env.example").read_text()
