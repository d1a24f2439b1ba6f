"""The service's drift window without HTTP: bounded, new per version, its gauges exported."""

from __future__ import annotations

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from edm.monitoring.descriptors import FEATURES
from edm.monitoring.reference import DriftReference
from edm.serving.drift import DriftMonitor
from edm.serving.metrics import Metrics


def rows(bpms: list[float]) -> list[dict[str, float]]:
    return [dict.fromkeys(FEATURES, 1.0) | {"bpm": bpm} for bpm in bpms]


def exported(metrics: Metrics) -> dict[tuple[str, str], float]:
    text = metrics.exposition()[0].decode()
    return {
        (sample.name, sample.labels.get("feature", "")): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("edm_drift")
    }


def test_window_is_bounded_compared_and_restarted_by_a_new_version() -> None:
    metrics = Metrics.create()
    monitor = DriftMonitor(metrics, window=8, interval_s=0.0)
    reference = DriftReference.from_tracks(rows(list(np.linspace(120, 130, 20))))
    for row in rows([170.0] * 12):
        monitor.observe(3, reference, row)
    report = monitor.report(3, reference)
    assert report["window"] == {"size": 8, "requests": 8}
    assert report["features"]["bpm"]["status"] == "drift" and report["drifted"] == ["bpm"]
    assert report["features"]["loudness"]["status"] == "ok"
    values = exported(metrics)
    assert values[("edm_drift_window_requests", "")] == 8
    assert values[("edm_drift_psi", "bpm")] > 0.2 and values[("edm_drift_psi", "loudness")] == 0
    assert values[("edm_drift_p_value", "bpm")] < 0.05

    monitor.observe(4, None, rows([125.0])[0])  # a new version, without a reference
    report = monitor.report(4, None)
    assert report["reference"] is None and report["features"] == {}
    assert report["window"]["requests"] == 1 and "no drift reference" in report["message"]
    values = exported(metrics)
    assert ("edm_drift_psi", "bpm") not in values and values[("edm_drift_window_requests", "")] == 1
    assert monitor.report(None, None)["message"] == "no Production model is loaded"
