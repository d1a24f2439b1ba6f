"""Drift of one feature: a reference sample (the evaluation set) against a recent one.

- **PSI** (population stability index) over bins cut at the reference's quantiles:
  ``sum((recent% - reference%) * ln(recent% / reference%))``, a share of 0 counted as
  :data:`EPSILON` so that an empty bin does not divide by zero. Deciles when both samples
  have 50 values or more; fewer bins for smaller samples (about five values per bin, two bins
  at least), since sparse bins make PSI jump by chance. A value that several reference
  samples share (a whole number of sections, a BPM every track has) gets a bin of its own, so
  that a move off it counts. The usual reading: under 0.1 stable, 0.1 to 0.2 a moderate shift,
  over 0.2 a significant one.
- **KS**: the two-sample Kolmogorov-Smirnov test's p-value (``scipy.stats.ks_2samp``): how
  likely samples this different are if both came from one distribution.

Status: ``drift`` when PSI is over 0.2 *and* KS says the difference is real (p under 0.05):
with the few dozen samples of an evaluation set, PSI alone moves by chance; ``warn`` when
either one is over its line; ``ok`` otherwise; ``insufficient`` when a side has fewer than
``min_samples`` values (nothing is concluded). NaN values (a track with no beat has no BPM)
are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

PSI_WARN = 0.1
PSI_DRIFT = 0.2
KS_ALPHA = 0.05
EPSILON = 1e-4
N_BINS = 10
MIN_BINS = 2
VALUES_PER_BIN = 5
MIN_SAMPLES = 5
SUMMARY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)

Status = Literal["ok", "warn", "drift", "insufficient"]


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float | None
    std: float | None
    quantiles: dict[str, float]  # "p5", "p25", "p50", "p75", "p95"

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "mean": self.mean, "std": self.std, "quantiles": self.quantiles}


@dataclass(frozen=True)
class FeatureDrift:
    feature: str
    reference: Summary
    recent: Summary
    psi: float | None
    p_value: float | None
    window: int  # recent values compared (NaNs left out)
    status: Status

    def to_dict(self) -> dict[str, Any]:
        return {
            "feature": self.feature,
            "reference": self.reference.to_dict(),
            "recent": self.recent.to_dict(),
            "psi": self.psi,
            "p_value": self.p_value,
            "window": self.window,
            "status": self.status,
        }


def finite(values: Sequence[float] | np.ndarray) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    return array[np.isfinite(array)]


def summarize(values: Sequence[float] | np.ndarray) -> Summary:
    array = finite(values)
    if array.size == 0:
        return Summary(0, None, None, {})
    points = np.quantile(array, SUMMARY_QUANTILES)
    return Summary(
        n=int(array.size),
        mean=_round(array.mean()),
        std=_round(array.std()),
        quantiles={
            f"p{round(q * 100)}": _round(v) for q, v in zip(SUMMARY_QUANTILES, points, strict=True)
        },
    )


def bin_edges(reference: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Cut points: the reference's inner quantiles, plus the point just above each value that
    several reference samples share (so that value has a bin of its own)."""
    cuts = np.unique(np.quantile(reference, np.linspace(0, 1, n_bins + 1)[1:-1]))
    values, counts = np.unique(reference, return_counts=True)
    shared = values[counts >= 2]
    shared_cuts = np.concatenate([shared, np.nextafter(shared, np.inf)])
    return np.unique(np.concatenate([cuts, shared_cuts]))


def psi(reference: Sequence[float] | np.ndarray, recent: Sequence[float] | np.ndarray) -> float:
    """The population stability index of ``recent`` against ``reference`` (NaNs left out)."""
    ref, new = finite(reference), finite(recent)
    if ref.size == 0 or new.size == 0:
        raise ValueError("PSI needs values on both sides")
    n_bins = min(N_BINS, max(MIN_BINS, min(ref.size, new.size) // VALUES_PER_BIN))
    edges = bin_edges(ref, n_bins)
    expected = _shares(ref, edges)
    actual = _shares(new, edges)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def ks_p_value(
    reference: Sequence[float] | np.ndarray, recent: Sequence[float] | np.ndarray
) -> float:
    """The two-sample KS test's p-value (1.0 when both samples are one constant)."""
    from scipy.stats import ks_2samp

    ref, new = finite(reference), finite(recent)
    if ref.size == 0 or new.size == 0:
        raise ValueError("the KS test needs values on both sides")
    p = float(ks_2samp(ref, new).pvalue)
    return p if math.isfinite(p) else 1.0


def status_of(psi_value: float, p_value: float) -> Status:
    if psi_value > PSI_DRIFT and p_value < KS_ALPHA:
        return "drift"
    if psi_value > PSI_WARN or p_value < KS_ALPHA:
        return "warn"
    return "ok"


def compare_feature(
    feature: str,
    reference: Sequence[float] | np.ndarray,
    recent: Sequence[float] | np.ndarray,
    min_samples: int = MIN_SAMPLES,
) -> FeatureDrift:
    ref, new = finite(reference), finite(recent)
    psi_value = p_value = None
    status: Status = "insufficient"
    if ref.size and new.size:
        psi_value, p_value = _round(psi(ref, new)), _round(ks_p_value(ref, new), 6)
        if min(ref.size, new.size) >= min_samples:
            status = status_of(psi_value, p_value)
    return FeatureDrift(
        feature=feature,
        reference=summarize(ref),
        recent=summarize(new),
        psi=psi_value,
        p_value=p_value,
        window=int(new.size),
        status=status,
    )


def compare(
    reference: Mapping[str, Sequence[float]],
    recent: Mapping[str, Sequence[float]],
    features: Sequence[str] | None = None,
    min_samples: int = MIN_SAMPLES,
) -> list[FeatureDrift]:
    """One :class:`FeatureDrift` per feature of the reference (or of ``features``)."""
    names = list(features) if features is not None else list(reference)
    return [
        compare_feature(name, reference.get(name, ()), recent.get(name, ()), min_samples)
        for name in names
    ]


def _shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=edges.size + 1)
    return np.maximum(counts / values.size, EPSILON)


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def tail_score(values: Mapping[str, float], reference: Mapping[str, Sequence[float]]) -> float:
    """How far one track sits in the reference's tails: the mean over its descriptors of
    ``|2q - 1|``, ``q`` the share of reference values below the value (ties count half); 0 for
    the median, 1 beyond every reference value. Descriptors with fewer than 2 reference values,
    or NaN, are left out; 0.0 when none is left."""
    tails = []
    for name, value in values.items():
        known = finite(reference.get(name, ()))
        if known.size < 2 or math.isnan(value):
            continue
        q = (np.sum(known < value) + 0.5 * np.sum(known == value)) / known.size
        tails.append(abs(2.0 * q - 1.0))
    return float(np.mean(tails)) if tails else 0.0
