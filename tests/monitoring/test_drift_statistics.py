"""PSI and KS on samples whose answer is known: identical, same distribution, shifted."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edm.monitoring.drift import (
    PSI_DRIFT,
    PSI_WARN,
    bin_edges,
    compare,
    compare_feature,
    ks_p_value,
    psi,
    status_of,
    summarize,
)


def test_identical_samples_have_no_drift() -> None:
    values = np.random.default_rng(0).normal(128, 4, 300)
    assert psi(values, values) == pytest.approx(0.0, abs=1e-12)
    assert ks_p_value(values, values) == pytest.approx(1.0)
    result = compare_feature("bpm", values, values)
    assert result.status == "ok" and result.window == 300


def test_two_samples_of_one_distribution_stay_under_the_warning_line() -> None:
    rng = np.random.default_rng(1)
    reference, recent = rng.normal(0, 1, 1000), rng.normal(0, 1, 1000)
    assert psi(reference, recent) < PSI_WARN
    assert compare_feature("loudness", reference, recent).status == "ok"


def test_a_shifted_sample_drifts_by_both_measures() -> None:
    rng = np.random.default_rng(2)
    reference, recent = rng.normal(128, 4, 500), rng.normal(136, 4, 500)
    assert psi(reference, recent) > PSI_DRIFT
    assert ks_p_value(reference, recent) < 1e-6
    result = compare_feature("bpm", reference, recent)
    assert result.status == "drift"
    assert result.reference.mean == pytest.approx(128, abs=1) and result.recent.n == 500


def test_a_few_tracks_at_other_tempos_drift_and_a_few_alike_do_not() -> None:
    reference = [120.0, 122.5, 125.0, 126.0, 128.0, 130.0]
    assert compare_feature("bpm", reference, [121.0, 123.0, 124.5, 127.0, 129.0, 131.0]).status in (
        "ok",
        "warn",
    )
    assert compare_feature("bpm", reference, [165, 168, 170, 172, 174, 175]).status == "drift"


def test_a_value_every_reference_track_shares_gets_its_own_bin() -> None:
    """A constant reference (every track at 128 BPM): moving off it either way is drift."""
    reference = [128.0] * 20
    assert psi(reference, reference) == pytest.approx(0.0)
    assert psi(reference, [140.0] * 20) > PSI_DRIFT
    assert psi(reference, [120.0] * 20) > PSI_DRIFT
    edges = bin_edges(np.array([3.0, 3.0, 4.0, 5.0, 5.0, 6.0]))
    assert 3.0 in edges and np.nextafter(3.0, np.inf) in edges


def test_nan_values_are_left_out_and_few_values_conclude_nothing() -> None:
    reference = [1.0, 2.0, math.nan, 3.0, 4.0, 5.0, 6.0]
    result = compare_feature("bpm", reference, [1.0, math.nan, 2.0])
    assert result.reference.n == 6 and result.window == 2
    assert result.status == "insufficient" and result.psi is not None
    empty = compare_feature("bpm", reference, [math.nan])
    assert empty.status == "insufficient" and empty.psi is None and empty.p_value is None
    assert summarize([]).to_dict() == {"n": 0, "mean": None, "std": None, "quantiles": {}}


def test_status_lines() -> None:
    assert status_of(0.05, 0.5) == "ok"
    assert status_of(0.15, 0.5) == "warn"
    assert status_of(0.05, 0.01) == "warn"
    assert status_of(0.5, 0.2) == "warn"  # PSI alone moves by chance on small samples
    assert status_of(0.5, 0.01) == "drift"


def test_compare_reports_each_feature_of_the_reference() -> None:
    reference = {"bpm": [120.0] * 10, "loudness": list(np.linspace(-14, -8, 10))}
    results = compare(reference, {"bpm": [120.0] * 10})
    assert [r.feature for r in results] == ["bpm", "loudness"]
    assert results[0].status == "ok" and results[1].status == "insufficient"
    document = results[0].to_dict()
    assert set(document) == {"feature", "reference", "recent", "psi", "p_value", "window", "status"}
    assert set(document["reference"]["quantiles"]) == {"p5", "p25", "p50", "p75", "p95"}
