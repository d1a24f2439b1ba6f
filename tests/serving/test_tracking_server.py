"""The service against a team's tracking server (`mlflow server` on PostgreSQL): it follows a
promotion made by someone else, and the server's own webhook delivery reaches it, signed."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from tests.servers import MlflowServer, free_port
from tests.serving.service_helpers import EdmService, no_tracebacks
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry


@pytest.mark.slow
def test_service_on_a_tracking_server_follows_a_promotion_announced_by_its_webhook(
    postgres_server, postgres_template, tmp_path: Path, clip: Path
) -> None:
    from cryptography.fernet import Fernet

    database = postgres_server.create_database(template=postgres_template)
    server = MlflowServer(
        postgres_server.uri(database),
        str(tmp_path / "artifacts"),
        env={
            "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "http",
            "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "true",
            "MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        },
    ).start()
    service = None
    try:
        name = f"edm-serve-{uuid.uuid4().hex[:8]}"
        registry = ModelRegistry(
            tracking_uri=server.url, experiment_name=name, model_name=name, promotion_gate=None
        )
        versions = []
        for seed in (0, 1):
            checkpoint = tiny_cnn_checkpoint(tmp_path / f"seed{seed}.pt", seed=seed)
            registry.log_model(checkpoint, f"seed-{seed}", {"backbone": "cnn"}, {"loss": 1.0})
            versions.append(registry.version_records(1)[0].version)
        # The webhook first: the server caches each event's webhooks for a minute
        # (MLFLOW_WEBHOOK_CACHE_TTL), so one made after an alias event may go unused that long.
        secret, port = "hook-" + uuid.uuid4().hex, free_port()
        registry.client.create_webhook(
            name=f"edm-serve-{name}",
            url=f"http://127.0.0.1:{port}/hooks/mlflow",
            events=["model_version_alias.created"],
            secret=secret,
        )
        registry.promote_model(versions[0], "Production")
        service = EdmService(
            server.url,
            tmp_path,
            "--poll-interval",
            "600",  # only the webhook can make it notice in time
            env={"EDM_WEBHOOK_SECRET": secret},
            model_name=name,
            port=port,
        ).wait_started()
        service.wait_ready()
        assert service.predict(clip).headers["X-EDM-Model-Version"] == str(versions[0])
        registry.promote_model(versions[1], "Production")
        service.wait_for(
            lambda: service.serving("production") == versions[1], 60, "the webhook's reload"
        )
        assert service.predict(clip).headers["X-EDM-Model-Version"] == str(versions[1])
        accepted = service.metric(
            "edm_requests_total", route="/hooks/mlflow", status="200", variant="none"
        )
        assert accepted >= 1
        log = service.stop()
        service = None
        no_tracebacks(log)
        assert secret not in log
    finally:
        if service is not None:
            service.stop()
        server.stop()
