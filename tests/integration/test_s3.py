"""S3 artifact storage through MLflow's S3 support, against moto's S3 server on loopback:
proxied by a tracking server (clients hold no storage credentials) and client-side."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.servers import MlflowServer, PostgresServer, S3Server

from edm.registry import ModelRegistry

S3_ENV = (
    "MLFLOW_S3_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    server = S3Server().start()
    yield server
    server.stop()


def test_server_proxies_artifacts_to_s3(
    s3: S3Server,
    postgres_server: PostgresServer,
    postgres_template: str,
    checkpoint: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bucket = s3.create_bucket("edm-proxied")
    database = postgres_server.create_database(template=postgres_template)
    server = MlflowServer(
        postgres_server.uri(database), f"s3://{bucket}/mlflow", env=s3.env
    ).start()
    try:
        for name in S3_ENV:  # the client needs no storage credentials: the server has them
            monkeypatch.delenv(name, raising=False)
        registry = ModelRegistry(tracking_uri=server.url, promotion_gate=None)  # S3, not the gate
        run_id = registry.log_model(checkpoint, "to-s3", {}, {})
        registry.promote_model(1, "Production")
        assert any(key.endswith(f"{run_id}/artifacts/model/best.pt") for key in s3.keys(bucket))
        downloaded = registry.load_production_model(tmp_path / "dl")
        assert downloaded is not None and downloaded.read_bytes() == checkpoint.read_bytes()
    finally:
        server.stop()


def test_client_side_s3_artifact_root(
    s3: S3Server, store_uri: str, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = s3.create_bucket("edm-client-side")
    for name, value in s3.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("EDM_ARTIFACT_ROOT", f"s3://{bucket}/edm")
    registry = ModelRegistry(tracking_uri=store_uri)
    run_id = registry.log_model(checkpoint, "client-s3", {}, {})
    assert f"edm/{run_id}/artifacts/model/best.pt" in s3.keys(bucket)
    assert registry.get_model_info(1)["source"].startswith(f"s3://{bucket}/edm/")
    assert registry.download_version(1, tmp_path / "dl").read_bytes() == checkpoint.read_bytes()
