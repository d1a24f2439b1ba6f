"""The compose stack says what the README says: PostgreSQL behind a proxying MLflow server."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_compose_stack_runs_mlflow_on_postgresql_with_proxied_s3_artifacts() -> None:
    stack = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = stack["services"]
    assert {"postgres", "mlflow", "minio"} <= set(services)
    command = " ".join(services["mlflow"]["command"].split())
    assert "--backend-store-uri postgresql://" in command
    assert "--artifacts-destination s3://" in command
    assert services["mlflow"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "${POSTGRES_PASSWORD" in services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    example = (DEPLOY / ".env.example").read_text()
    assert "POSTGRES_PASSWORD=" in example and "S3_SECRET_KEY=" in example
