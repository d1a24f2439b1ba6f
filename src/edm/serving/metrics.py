"""Prometheus metrics of the service, named as Prometheus asks (base units, ``_total``).

Labels stay low-cardinality: routes, status codes, variants, versions; never file names or
request ids. With several workers (``PROMETHEUS_MULTIPROC_DIR`` set by the entry point before
the workers start) every worker writes its values to files there and ``/metrics`` adds them
up; a gauge keeps the live workers' largest (or summed) value.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

ENV_MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
AUDIO_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 240.0, 480.0, 900.0)
BPM_DIFFERENCE_BUCKETS = (0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0)
F_MEASURE_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0)
CONFIDENCE_BUCKETS = tuple(round(0.05 * step, 2) for step in range(1, 21))  # 0.05 .. 1.0
BPM_AGREEMENT = 1.0  # BPM: two answers this close (or closer) agree on the tempo


def multiprocess_dir() -> str | None:
    return os.environ.get(ENV_MULTIPROC_DIR) or None


@dataclass
class Metrics:
    """The service's metrics, on their own registry (several apps may share a process)."""

    registry: CollectorRegistry
    requests: Counter
    analyses: Counter
    request_duration: Histogram
    inference_duration: Histogram
    in_progress: Gauge
    audio_duration: Histogram
    model_info: Gauge
    reloads: Counter
    last_reload: Gauge
    shadow_requests: Counter
    shadow_bpm_difference: Histogram
    shadow_beat_f: Histogram
    shadow_boundary_f: Histogram
    shadow_staging_duration: Histogram
    auto_rollbacks: Counter
    alert_refusals: Counter
    prediction_confidence: Histogram
    model_version: Gauge
    alias_version: Gauge
    drift_psi: Gauge
    drift_p_value: Gauge
    drift_window: Gauge
    receiving: Gauge
    analyses_overrunning: Gauge

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry(auto_describe=True)
        # In multi-process mode the values live in files; a registry would only read this
        # process's copy, so the metrics are not registered and /metrics reads the files.
        owner = None if multiprocess_dir() else registry
        return cls(
            registry=registry,
            requests=Counter(
                "edm_requests", "HTTP requests answered.", ["route", "status", "variant"],
                registry=owner,
            ),
            # Per variant, "previous" included (Production's requests replayed on the version
            # before it): what the comparative rollback alerts compare, on the same tracks.
            analyses=Counter(
                "edm_analyses", "Analyses run by the model, by outcome (ok, error).",
                ["variant", "result"], registry=owner,
            ),
            request_duration=Histogram(
                "edm_request_duration_seconds", "Time to answer a request.", ["route"],
                buckets=LATENCY_BUCKETS, registry=owner,
            ),
            inference_duration=Histogram(
                "edm_inference_duration_seconds", "Time the model took on one file.",
                ["variant"], buckets=LATENCY_BUCKETS, registry=owner,
            ),
            in_progress=Gauge(
                "edm_requests_in_progress", "Predictions being answered now.",
                registry=owner, multiprocess_mode="livesum",
            ),
            audio_duration=Histogram(
                "edm_audio_duration_seconds", "Length of the audio sent to /predict.",
                buckets=AUDIO_BUCKETS, registry=owner,
            ),
            model_info=Gauge(
                "edm_model_info", "1 for the version each variant serves.",
                ["variant", "version"], registry=owner, multiprocess_mode="livemax",
            ),
            reloads=Counter(
                "edm_model_reload", "Model loads after an alias moved.", ["result"],
                registry=owner,
            ),
            last_reload=Gauge(
                "edm_model_last_reload_timestamp_seconds", "When a model was last swapped in.",
                registry=owner, multiprocess_mode="livemax",
            ),
            shadow_requests=Counter(
                "edm_shadow_requests", "Production requests replayed on Staging.", ["result"],
                registry=owner,
            ),
            shadow_bpm_difference=Histogram(
                "edm_shadow_bpm_difference", "|BPM of Production - BPM of Staging|.",
                ["staging_version"], buckets=BPM_DIFFERENCE_BUCKETS, registry=owner,
            ),
            shadow_beat_f=Histogram(
                "edm_shadow_beat_f_measure", "Beat F-measure of Staging against Production.",
                ["staging_version"], buckets=F_MEASURE_BUCKETS, registry=owner,
            ),
            shadow_boundary_f=Histogram(
                "edm_shadow_boundary_f_measure",
                "Section boundary F-measure (3 s) of Staging against Production.",
                ["staging_version"], buckets=F_MEASURE_BUCKETS, registry=owner,
            ),
            shadow_staging_duration=Histogram(
                "edm_shadow_staging_duration_seconds", "Time Staging took on a shadowed file.",
                ["staging_version"], buckets=LATENCY_BUCKETS, registry=owner,
            ),
            auto_rollbacks=Counter(
                "edm_auto_rollback", "Decisions on Alertmanager's alerts (--auto-rollback).",
                ["result"], registry=owner,
            ),
            alert_refusals=Counter(
                "edm_alert_notifications_refused",
                "Alertmanager notifications refused (401, 400/422, 409), by reason.",
                ["reason"], registry=owner,
            ),
            # Gauges below: with several workers, the live workers' largest value (the newest
            # version, the worst PSI) or smallest (the most significant p-value), or their sum
            # (requests in all the windows). Each worker keeps its own drift window.
            prediction_confidence=Histogram(
                "edm_prediction_confidence", "Overall confidence of each answer, 0..1.",
                ["variant"], buckets=CONFIDENCE_BUCKETS, registry=owner,
            ),
            model_version=Gauge(
                "edm_model_version", "The version each variant serves; 0 when none is loaded.",
                ["variant"], registry=owner, multiprocess_mode="livemax",
            ),
            alias_version=Gauge(
                "edm_registry_alias_version",
                "The version the registry's alias names, as last polled; 0 when none.",
                ["alias"], registry=owner, multiprocess_mode="livemax",
            ),
            drift_psi=Gauge(
                "edm_drift_psi", "PSI of the Production window against the version's reference.",
                ["feature"], registry=owner, multiprocess_mode="livemax",
            ),
            drift_p_value=Gauge(
                "edm_drift_p_value", "KS p-value of the Production window against the reference.",
                ["feature"], registry=owner, multiprocess_mode="livemin",
            ),
            drift_window=Gauge(
                "edm_drift_window_requests", "Production requests in the drift window.",
                registry=owner, multiprocess_mode="livesum",
            ),
            receiving=Gauge(
                "edm_uploads_receiving", "/predict bodies being received now.",
                registry=owner, multiprocess_mode="livesum",
            ),
            analyses_overrunning=Gauge(
                "edm_analyses_overrunning",
                "Analyses answered 504 (--analysis-timeout) whose thread still runs them.",
                registry=owner, multiprocess_mode="livesum",
            ),
        )  # fmt: skip

    def collecting_registry(self) -> CollectorRegistry:
        """What /metrics reads: every worker's files in multi-process mode, else our own."""
        if not multiprocess_dir():
            return self.registry
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.collecting_registry()), CONTENT_TYPE_LATEST

    def set_model(self, variant: str, old: int | None, new: int | None) -> None:
        if old is not None:
            self.model_info.labels(variant=variant, version=str(old)).set(0)
        if new is not None:
            self.model_info.labels(variant=variant, version=str(new)).set(1)
        self.model_version.labels(variant=variant).set(new or 0)


def process_exited(pid: int) -> None:
    """Forget a dead worker's live gauges (multi-process mode only)."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


@dataclass(frozen=True)
class ShadowSummary:
    """The shadow evidence about one Staging version, added up over every worker."""

    requests: int
    bpm_agreement: float | None
    beat_f: float | None
    boundary_f: float | None
    latency_p50: float | None
    latency_p95: float | None
    latency_p99: float | None

    def as_run_metrics(self) -> dict[str, float]:
        values = {
            "shadow_requests": float(self.requests),
            "shadow_bpm_agreement": self.bpm_agreement,
            "shadow_beat_f": self.beat_f,
            "shadow_boundary_f": self.boundary_f,
            "shadow_latency_p50_s": self.latency_p50,
            "shadow_latency_p95_s": self.latency_p95,
            "shadow_latency_p99_s": self.latency_p99,
        }
        return {name: value for name, value in values.items() if value is not None}


def shadow_summary(registry: CollectorRegistry, staging_version: int) -> ShadowSummary:
    """The summary of one Staging version, read from the (aggregated) histograms.

    Percentiles are interpolated within buckets, as Prometheus's ``histogram_quantile`` does.
    """
    label = str(staging_version)
    histograms: dict[str, dict[str, dict[float, float] | float]] = {}
    for family in registry.collect():
        for sample in family.samples:
            if sample.labels.get("staging_version") != label:
                continue
            base, _, kind = sample.name.rpartition("_")
            entry = histograms.setdefault(base, {"buckets": {}, "count": 0.0, "sum": 0.0})
            if kind == "bucket":
                entry["buckets"][float(sample.labels["le"])] = sample.value  # type: ignore[index]
            elif kind in ("count", "sum"):
                entry[kind] = sample.value

    def mean(name: str) -> float | None:
        entry = histograms.get(name)
        if not entry or not entry["count"]:
            return None
        return float(entry["sum"]) / float(entry["count"])  # type: ignore[arg-type]

    bpm = histograms.get("edm_shadow_bpm_difference")
    agreement = None
    if bpm and bpm["count"]:
        agreement = bpm["buckets"].get(BPM_AGREEMENT, 0.0) / float(bpm["count"])  # type: ignore[union-attr,arg-type]
    latency = histograms.get("edm_shadow_staging_duration_seconds")
    count = int(float(latency["count"])) if latency else 0  # type: ignore[arg-type]
    buckets = dict(latency["buckets"]) if latency else {}  # type: ignore[arg-type]
    return ShadowSummary(
        requests=count,
        bpm_agreement=agreement,
        beat_f=mean("edm_shadow_beat_f_measure"),
        boundary_f=mean("edm_shadow_boundary_f_measure"),
        latency_p50=_quantile(0.5, buckets),
        latency_p95=_quantile(0.95, buckets),
        latency_p99=_quantile(0.99, buckets),
    )


def _quantile(q: float, buckets: dict[float, float]) -> float | None:
    ordered = sorted(buckets.items())
    if not ordered or ordered[-1][1] == 0:
        return None
    rank = q * ordered[-1][1]
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in ordered:
        if count >= rank:
            if bound == float("inf"):
                return lower_bound  # beyond the largest finite bucket: its bound is all we know
            if count == lower_count:
                return bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share
        lower_bound, lower_count = bound, count
    return lower_bound
