"""The service's small parts on their own: signatures, agreement, routing, percentiles."""

from __future__ import annotations

import time

import pytest

from edm.errors import ConfigError, ServiceError, WebhookRefusedError
from edm.serving.config import ServeConfig
from edm.serving.metrics import Metrics, shadow_summary
from edm.serving.routing import choose_variant, client_position, f_measure
from edm.serving.uploads import suffix_for
from edm.serving.webhook import concerns_model, sign, verify


def _headers(secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "x-mlflow-delivery-id": "d-1",
        "x-mlflow-timestamp": str(timestamp),
        "x-mlflow-signature": sign(secret, "d-1", str(timestamp), body),
    }


def test_webhook_signature_follows_mlflow_and_refuses_tampering() -> None:
    # MLflow's own signing function, where this MLflow has it: the two must agree.
    delivery = pytest.importorskip("mlflow.webhooks.delivery")
    body = b'{"entity": "model_version_alias", "data": {"name": "m"}}'
    ours = sign("s3cret", "d-1", "1700000000", body)
    assert ours == delivery._generate_hmac_signature("s3cret", "d-1", "1700000000", body.decode())
    now = int(time.time())
    assert verify("s3cret", _headers("s3cret", body, now), body)["entity"] == "model_version_alias"
    with pytest.raises(WebhookRefusedError, match="signature"):
        verify("s3cret", _headers("s3cret", body, now), body.replace(b'"m"', b'"x"'))
    with pytest.raises(WebhookRefusedError, match="signature"):
        verify("s3cret", _headers("other", body, now), body)
    with pytest.raises(WebhookRefusedError, match="replay"):
        verify("s3cret", _headers("s3cret", body, now - 3600), body)
    with pytest.raises(WebhookRefusedError, match="missing"):
        verify("s3cret", {}, body)
    assert concerns_model({"entity": "model_version_alias", "data": {"name": "m"}}, "m")
    assert not concerns_model({"entity": "model_version_alias", "data": {"name": "x"}}, "m")
    assert not concerns_model({"entity": "prompt", "data": {"name": "m"}}, "m")


def test_f_measure_matches_each_event_once() -> None:
    assert f_measure([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], 0.07) == 1.0
    assert f_measure([], [], 0.07) == 1.0
    assert f_measure([1.0], [], 0.07) == 0.0
    assert f_measure([1.0, 2.0], [1.05, 1.06], 0.07) == pytest.approx(0.5)  # one match only
    assert f_measure([1.0, 2.0, 3.0, 4.0], [1.0, 3.0], 0.07) == pytest.approx(2 / 3)


def test_staging_share_is_sticky_per_client_and_explicit_variant_wins() -> None:
    assert client_position("a") == client_position("a")
    ids = [f"client-{n}" for n in range(2000)]
    share = sum(choose_variant(None, c, 0.25, True) == "staging" for c in ids) / len(ids)
    assert 0.2 < share < 0.3
    assert choose_variant(None, "x", 1.0, False) == "production"  # no staging loaded
    assert choose_variant("staging", None, 0.0, True) == "staging"
    assert choose_variant(None, None, 0.0, True) == "production"


def test_shadow_summary_reads_counts_means_and_percentiles_from_the_histograms() -> None:
    metrics = Metrics.create()
    for seconds in (0.2, 0.3, 0.4, 0.6):
        metrics.shadow_staging_duration.labels(staging_version="3").observe(seconds)
    for difference in (0.0, 0.5, 4.0, 0.2):
        metrics.shadow_bpm_difference.labels(staging_version="3").observe(difference)
    metrics.shadow_beat_f.labels(staging_version="3").observe(0.5)
    metrics.shadow_beat_f.labels(staging_version="3").observe(1.0)
    metrics.shadow_staging_duration.labels(staging_version="2").observe(50.0)  # another version
    summary = shadow_summary(metrics.registry, 3)
    assert summary.requests == 4
    assert summary.bpm_agreement == pytest.approx(0.75)
    assert summary.beat_f == pytest.approx(0.75)
    assert summary.boundary_f is None
    assert 0.25 <= summary.latency_p50 <= 0.5
    assert 0.5 <= summary.latency_p99 <= 1.0
    assert "shadow_boundary_f" not in summary.as_run_metrics()
    assert shadow_summary(metrics.registry, 7).requests == 0


def test_config_and_media_types_are_checked() -> None:
    with pytest.raises(ConfigError, match="--staging-share"):
        ServeConfig(staging_share=1.5)
    with pytest.raises(ConfigError, match="--max-concurrency"):
        ServeConfig(max_concurrency=0)
    config = ServeConfig(shadow_share=0.1, model_name="m")
    assert ServeConfig.from_json(config.to_json()) == config
    with pytest.raises(ConfigError, match="unknown settings: nope"):
        ServeConfig.from_json('{"nope": 1}')
    assert suffix_for("audio/flac") == ".flac"
    assert suffix_for("application/octet-stream") == ""
    with pytest.raises(ServiceError) as refused:
        suffix_for("application/json")
    assert refused.value.status == 415
