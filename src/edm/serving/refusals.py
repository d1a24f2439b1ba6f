"""Refused Alertmanager notifications leave a trace: counted by reason in
``edm_alert_notifications_refused_total`` and logged, at most once a minute per reason, with
the client's address (a misconfigured Alertmanager retries at every group interval; an
attacker may send thousands: neither may flood the log).

The reasons: ``unauthorized`` (401: a missing or wrong bearer token), ``malformed`` (400 or
422: not JSON, over 1 MB, not a version 4 notification), ``stale`` and ``replay`` (409: see
``rollback``). A repeat of an alert already acted on is not a refusal: it is answered 200.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prometheus_client import Counter

log = logging.getLogger(__name__)

REASONS = ("unauthorized", "malformed", "stale", "replay")
LOG_INTERVAL_S = 60.0


class NotificationRefusals:
    """Counts every refusal; logs the first of each reason, then at most one per interval,
    saying how many went unlogged in between."""

    def __init__(
        self,
        counter: Counter,
        *,
        interval_s: float = LOG_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counter = counter
        self.interval_s = interval_s
        self.clock = clock
        self._lock = threading.Lock()
        self._logged_at: dict[str, float] = {}
        self._unlogged: dict[str, int] = {}
        for reason in REASONS:  # every series exists at 0: a rate sees the first refusal
            counter.labels(reason=reason)

    def refused(self, reason: str, client: str, detail: str) -> bool:
        """Count one refusal; True when it was logged. ``detail`` must hold no secret."""
        if reason not in REASONS:
            raise ValueError(f"unknown refusal reason {reason!r}")
        self.counter.labels(reason=reason).inc()
        now = self.clock()
        with self._lock:
            last = self._logged_at.get(reason)
            if last is not None and now - last < self.interval_s:
                self._unlogged[reason] = self._unlogged.get(reason, 0) + 1
                return False
            self._logged_at[reason] = now
            unlogged = self._unlogged.pop(reason, 0)
        more = f" ({unlogged} more since the last message)" if unlogged else ""
        log.warning(
            "alertmanager notification from %s refused (%s): %s%s", client, reason, detail, more
        )
        return True
