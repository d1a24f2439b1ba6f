"""Input and output drift of the Production model, over a rolling window of its requests.

Each Production answer adds its track's descriptors (``edm.monitoring.descriptors``) to a
bounded window (the last ``drift_window`` requests; a new Production version starts a new
window, since the output descriptors belong to a version). At most every
``drift_interval_s`` the window is compared with the serving version's reference (the
descriptors of its training tracks, recorded by ``edm train``, or of what a person made its
reference since, ``edm monitor reference --from-traffic``; loaded with the version): PSI
and KS per feature (``edm.monitoring.drift``), exported as ``edm_drift_psi``,
``edm_drift_p_value`` and ``edm_drift_window_requests``, and answered by ``GET /drift``.

A version without a reference: ``/drift`` answers 200 with ``"reference": null`` and says how
to store one; no drift gauges are exported. With several workers, each keeps the window of the
requests it answered; ``/metrics`` shows the largest PSI, the smallest p-value and the sum of
the windows over the live workers (see ``serving/metrics.py``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from edm.monitoring.descriptors import FEATURES
from edm.monitoring.drift import MIN_SAMPLES, FeatureDrift, compare

if TYPE_CHECKING:
    from edm.monitoring.reference import DriftReference
    from edm.serving.metrics import Metrics


class DriftMonitor:
    """The rolling window of the Production model's requests and its last comparison."""

    def __init__(
        self,
        metrics: Metrics,
        *,
        window: int = 200,
        interval_s: float = 5.0,
        min_samples: int = MIN_SAMPLES,
    ) -> None:
        self.metrics = metrics
        self.window_size = window
        self.interval_s = interval_s
        self.min_samples = min_samples
        self._lock = threading.Lock()
        self._window: deque[dict[str, float]] = deque(maxlen=window)
        self._version: int | None = None
        self._reference: DriftReference | None = None
        self._results: list[FeatureDrift] = []
        self._computed_at: float | None = None  # time.time() of the last comparison
        self._computed_mono = 0.0
        self._dirty = False
        # Comparisons run on the event loop (milliseconds each); the first must not pay for
        # importing scipy.stats there.
        import scipy.stats  # noqa: F401

    def observe(
        self, version: int, reference: DriftReference | None, descriptors: Mapping[str, float]
    ) -> None:
        """One Production answer of ``version`` (whose reference is ``reference``)."""
        with self._lock:
            self._follow(version, reference)
            self._window.append(dict(descriptors))
            self._dirty = True
            self.metrics.drift_window.set(len(self._window))
            if time.monotonic() - self._computed_mono >= self.interval_s:
                self._compute()

    def report(self, version: int | None, reference: DriftReference | None) -> dict[str, Any]:
        """What ``GET /drift`` answers for the version serving Production now (None: none)."""
        with self._lock:
            if version is not None:
                self._follow(version, reference)
            # A reader asking now gets the figures of the window it is shown (one comparison
            # takes milliseconds); only the per-request path is throttled.
            if self._dirty:
                self._compute()
            return self._document(version)

    # ------------------------------------------------------------------ inside the lock

    def _follow(self, version: int, reference: DriftReference | None) -> None:
        if version == self._version and reference is self._reference:
            return
        if version != self._version:
            self._window.clear()
        self._version, self._reference = version, reference
        self._results, self._computed_at, self._dirty = [], None, bool(self._window)
        self.metrics.drift_psi.clear()
        self.metrics.drift_p_value.clear()
        self.metrics.drift_window.set(len(self._window))

    def _compute(self) -> None:
        self._computed_mono = time.monotonic()
        self._dirty = False
        if self._reference is None or not self._window:
            return
        recent = {name: [row.get(name, float("nan")) for row in self._window] for name in FEATURES}
        names = [name for name in FEATURES if name in self._reference.features]
        self._results = compare(self._reference.features, recent, names, self.min_samples)
        self._computed_at = time.time()
        for result in self._results:
            if result.psi is None or result.p_value is None:
                continue
            self.metrics.drift_psi.labels(feature=result.feature).set(result.psi)
            self.metrics.drift_p_value.labels(feature=result.feature).set(result.p_value)

    def _document(self, version: int | None) -> dict[str, Any]:
        reference = self._reference if version is not None else None
        message = None
        if version is None:
            message = "no Production model is loaded"
        elif reference is None:
            message = (
                f"version {version} has no drift reference (edm train records one): store "
                f"one with `edm evaluate DATA_DIR --model {version} --log`"
            )
        elif len(self._window) < self.min_samples:
            message = (
                f"{len(self._window)} requests in the window: statuses need "
                f"{self.min_samples} at least"
            )
        results = self._results if reference is not None else []
        return {
            "variant": "production",
            "version": version,
            "reference": None
            if reference is None
            else {
                "created": reference.created,
                "model": reference.model,
                "data_dir": reference.data_dir,
                "source": reference.source,
                "n_tracks": reference.n_tracks,
            },
            "window": {"size": self.window_size, "requests": len(self._window)},
            "computed_at": _iso(self._computed_at),
            "drifted": [r.feature for r in results if r.status == "drift"],
            "features": {r.feature: r.to_dict() for r in results},
            "message": message,
        }


def _iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
