"""Automatic rollback (``edm serve --auto-rollback``): a degradation alert about a freshly
promoted Production version puts the version before it back.

The service acts only on an alert that is firing, carries ``degradation="true"`` (and not
``review="true"``: input drift asks a person to review, a rollback cannot fix it) and names, in
its ``version`` label, the version the registry holds in Production now (read from the registry
at that moment, not from what this worker serves), and only while that version's promotion,
as the audit trail dates it, is younger than the window. A version that is older than the window
has proven itself: a degradation then is more likely the traffic than the model, and a person
decides. It never acts twice for one promotion: the audit trail says whether this service
already rolled that promotion back (so the answer holds across workers and restarts), and the
registry checks, under its lock, that the version is still in Production when the rollback
happens (two workers acting on two alerts at once roll back once). A version this service put
back is not rolled back in turn: one automatic step, then a person.

Repeats and replays change nothing either. The trail records each rollback with the alert it
acted on (its fingerprint and ``startsAt``). Alertmanager repeats a firing alert every
``repeat_interval`` until it resolves, and counts any answer but 2xx as a failed notification:
a degradation alert about a promotion this service already rolled back (the same alert again,
or another one about that time in Production) is answered 200 ``already_rolled_back``, across
workers and restarts, and changes nothing. What is really refused gets 409: an alert that
started before the version's current promotion (``stale``: it is about an earlier time in
Production), and an alert acted on before the version was promoted again (``replay``).

``decide`` is the pure decision; ``AutoRollback`` reads the registry, acts, and counts.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from edm.errors import EdmError, InvalidTransitionError, NoProductionModelError
from edm.registry import Stage, production_timeline

if TYPE_CHECKING:
    from prometheus_client import Counter

    from edm.registry import AuditEntry, ModelRegistry

log = logging.getLogger(__name__)

REASON_PREFIX = "auto-rollback: "
MAX_ALERT_NAME_CHARS = 200
REFUSED = ("replay", "stale")  # answered 409: nothing to do, ever
_FINGERPRINT = re.compile(r"[^0-9A-Za-z]")


@dataclass(frozen=True)
class Alert:
    """What the decision needs of one alert of an Alertmanager notification."""

    name: str
    firing: bool
    degradation: bool
    version: int | None  # the ``version`` label; None when missing or not a number
    starts_at: datetime | None = None
    fingerprint: str = ""  # Alertmanager's hash of the labels
    review: bool = False  # ``review="true"``: a signal for a person (drift), never a rollback

    @property
    def marker(self) -> str | None:
        """How the trail names this alert (one firing of it): None without a fingerprint."""
        fingerprint = _FINGERPRINT.sub("", self.fingerprint)[:32]
        if not fingerprint or self.starts_at is None:
            return None
        return f"[alert {fingerprint} since {_iso(self.starts_at)}]"


@dataclass(frozen=True)
class Decision:
    """The answer to one notification. ``result`` is the metric's label (a short code)."""

    action: str  # "rolled_back", "already_rolled_back" (a repeat, answered 200) or "none"
    result: str
    reason: str
    from_version: int | None = None
    to_version: int | None = None
    alert: str | None = None

    @property
    def status(self) -> int:
        """The HTTP answer: 409 for a replay or a stale alert, 503 when Alertmanager should
        retry, else 200 (a repeat of what was already done included)."""
        if self.result in REFUSED:
            return 409
        return 503 if self.result == "failed" else 200

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "result": self.result,
            "reason": self.reason,
            "alert": self.alert,
            "from_version": self.from_version,
            "to_version": self.to_version,
        }


@dataclass(frozen=True)
class Rollback:
    """What ``decide`` asks for: roll ``from_version`` back to ``to_version``."""

    alert: str
    from_version: int
    to_version: int
    promoted_at: datetime
    marker: str | None = None  # the alert acted on, as the trail names it

    @property
    def reason(self) -> str:
        reason = f"{REASON_PREFIX}{self.alert} fired for version {self.from_version}"
        return f"{reason} {self.marker}" if self.marker else reason


def service_identity() -> str:
    """Who the audit trail says rolled back: this service, on this host."""
    return f"edm-serve@{socket.gethostname() or 'unknown-host'}"


def clean_alert_name(name: str) -> str:
    """An alert name fit for one line of the audit trail (it comes from the network)."""
    printable = "".join(c if c.isprintable() else " " for c in name).strip()
    return printable[:MAX_ALERT_NAME_CHARS] or "an unnamed alert"


def decide(
    alerts: Sequence[Alert],
    production: int | None,
    entries: Sequence[AuditEntry],
    now: datetime,
    window_s: float,
    seen: Sequence[str] = (),
) -> Decision | Rollback:
    """Whether one notification rolls Production back. ``entries``: the trail, newest first;
    ``seen``: the markers of alerts already acted on that the trail may not show yet."""
    candidates = [
        a for a in alerts if a.firing and a.degradation and not a.review and a.version is not None
    ]
    if not candidates:
        review = " (review alerts ask a person, never a rollback)"
        return _none(
            "ignored",
            f"no firing degradation alert with a version label among {len(alerts)} alert(s)"
            + (review if any(a.review for a in alerts) else ""),
        )
    on_production = [a for a in candidates if a.version == production]
    if not on_production:
        alert = candidates[0]
        assert alert.version is not None
        done = _auto_rollback_of(entries, alert.version)
        if done is not None:
            promotion = _last_promotion(entries, alert.version)
            if (
                promotion is not None
                and alert.starts_at is not None
                and alert.starts_at < promotion.timestamp
            ):
                return _stale(alert, alert.version, promotion)
            return _already(alert, done)
        holder = f"version {production} is" if production is not None else "no version is"
        return _none(
            "not_production", f"version {alert.version} is not in Production: {holder}", alert
        )
    version = production
    assert version is not None
    promotion = _last_promotion(entries, version)
    if promotion is None:
        return _none(
            "not_promoted",
            f"the audit trail records no promotion of version {version}: "
            "its age is unknown, so it is left to a person",
            on_production[0],
        )
    if promotion.action == "rollback" and (promotion.reason or "").startswith(REASON_PREFIX):
        return _none(
            "restored",
            f"version {version} is in Production because of an automatic rollback: "
            "the service does not roll back twice in a row",
            on_production[0],
        )
    acted = _acted_on(entries) | set(seen)
    fresh = [
        a
        for a in on_production
        if a.marker not in acted and (a.starts_at is None or a.starts_at >= promotion.timestamp)
    ]
    if not fresh:
        return _replay(on_production[0], acted, version, promotion)
    alert = min(fresh, key=lambda a: a.starts_at or now)
    age = (now - promotion.timestamp).total_seconds()
    if age > window_s:
        return _none(
            "outside_window",
            f"version {version} was promoted at {_iso(promotion.timestamp)}, "
            f"{_minutes(age)} ago: outside the {_minutes(window_s)} rollback window",
            alert,
        )
    timeline = production_timeline(list(entries))
    if len(timeline) < 2 or timeline[-1] != version:
        return _none(
            "no_previous",
            f"no earlier Production version is recorded before version {version}: "
            "nothing to roll back to",
            alert,
        )
    return Rollback(alert.name, version, timeline[-2], promotion.timestamp, alert.marker)


def _already(alert: Alert, done: AuditEntry) -> Decision:
    """A repeat: the promotion this alert is about was rolled back by this service."""
    same = alert.marker is not None and (done.reason or "").endswith(alert.marker)
    about = f"the same alert {alert.marker} was acted on: " if same else ""
    return Decision(
        action="already_rolled_back",
        result="already_rolled_back",
        reason=f"{about}version {alert.version} was already rolled back to version "
        f"{done.version} by {done.user} at {_iso(done.timestamp)}",
        from_version=alert.version,
        to_version=done.version,
        alert=alert.name,
    )


def _replay(alert: Alert, acted: set[str | None], version: int, promotion: AuditEntry) -> Decision:
    if alert.marker in acted:
        return _none(
            "replay",
            f"the same alert {alert.marker} was acted on before version {version} was "
            f"promoted again at {_iso(promotion.timestamp)}",
            alert,
        )
    return _stale(alert, version, promotion)


def _stale(alert: Alert, version: int, promotion: AuditEntry) -> Decision:
    started = _iso(alert.starts_at) if alert.starts_at else "?"
    return _none(
        "stale",
        f"the alert started at {started}, before version {version} was promoted at "
        f"{_iso(promotion.timestamp)}: it is not about this promotion",
        alert,
    )


def _acted_on(entries: Sequence[AuditEntry]) -> set[str | None]:
    """The markers of the alerts the trail says this service rolled back on."""
    found: set[str | None] = set()
    for entry in entries:
        reason = entry.reason or ""
        if entry.action == "rollback" and reason.startswith(REASON_PREFIX) and "[alert " in reason:
            found.add(reason[reason.rindex("[alert ") :])
    return found


class AutoRollback:
    """Decides on Alertmanager's notifications and, when enabled, rolls the registry back."""

    def __init__(
        self,
        registry: ModelRegistry,
        counter: Counter,
        *,
        enabled: bool,
        window_s: float,
        on_rolled_back: Callable[[], None],
        user: str | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = registry
        self.counter = counter
        self.enabled = enabled
        self.window_s = window_s
        self.on_rolled_back = on_rolled_back
        self.user = user or service_identity()
        self.clock = clock
        self._lock = threading.Lock()  # one decision at a time in this worker
        self._done: set[tuple[int, datetime]] = set()  # (version, its promotion) rolled back
        self._seen: set[str] = set()  # markers of the alerts this worker acted on

    def handle(self, alerts: Sequence[Alert]) -> Decision:
        """Decide on one notification (blocking: it reads and may write the registry)."""
        with self._lock:
            decision = self._handle(alerts)
        self.counter.labels(result=decision.result).inc()
        if decision.action == "rolled_back":
            log.warning(
                "rolled Production back from version %s to version %s (%s)",
                decision.from_version,
                decision.to_version,
                decision.reason,
            )
        else:
            log.info(
                "alertmanager notification, nothing done (%s): %s", decision.result, decision.reason
            )
        return decision

    def _handle(self, alerts: Sequence[Alert]) -> Decision:
        if not self.enabled:
            return _none("off", "auto-rollback is off (start the service with --auto-rollback)")
        try:
            production = self.registry.stage_holders().production
            entries = self.registry.history()
        except EdmError as exc:
            return _none("failed", f"could not read the registry: {exc}")
        plan = decide(alerts, production, entries, self.clock(), self.window_s, tuple(self._seen))
        if isinstance(plan, Decision):
            return plan
        if (plan.from_version, plan.promoted_at) in self._done:  # the trail lags behind
            return Decision(
                action="already_rolled_back",
                result="already_rolled_back",
                reason=f"this promotion of version {plan.from_version} was already rolled back",
                from_version=plan.from_version,
                alert=plan.alert,
            )
        return self._roll_back(plan)

    def _roll_back(self, plan: Rollback) -> Decision:
        try:
            entry = self.registry.rollback(
                reason=plan.reason, user=self.user, only_from=plan.from_version
            )
        except InvalidTransitionError as exc:  # moved meanwhile: another worker, a person
            return _none("not_production", str(exc), alert_name=plan.alert)
        except NoProductionModelError as exc:
            return _none("no_previous", str(exc), alert_name=plan.alert)
        except EdmError as exc:
            return _none("failed", f"the rollback failed: {exc}", alert_name=plan.alert)
        self._done.add((plan.from_version, plan.promoted_at))
        if plan.marker:
            self._seen.add(plan.marker)
        self.on_rolled_back()
        return Decision(
            action="rolled_back",
            result="rolled_back",
            reason=entry.reason or plan.reason,
            from_version=plan.from_version,
            to_version=entry.version,
            alert=plan.alert,
        )


def _none(
    result: str, reason: str, alert: Alert | None = None, *, alert_name: str | None = None
) -> Decision:
    version = alert.version if alert is not None else None
    name = alert.name if alert is not None else alert_name
    return Decision("none", result, reason, from_version=version, alert=name)


def _last_promotion(entries: Sequence[AuditEntry], version: int) -> AuditEntry | None:
    """The newest entry that put ``version`` into Production (however it got there)."""
    return next(
        (
            e
            for e in entries
            if e.version == version and e.to_stage == Stage.PRODUCTION and e.action != "reference"
        ),
        None,
    )


def _auto_rollback_of(entries: Sequence[AuditEntry], version: int) -> AuditEntry | None:
    """This service's rollback that took ``version`` out of Production after its last
    promotion, if there is one."""
    for entry in entries:  # newest first: stop at the promotion
        if (
            entry.version == version
            and entry.to_stage == Stage.PRODUCTION
            and entry.action != "reference"
        ):
            return None
        if (
            entry.action == "rollback"
            and entry.displaced_version == version
            and (entry.reason or "").startswith(REASON_PREFIX)
        ):
            return entry
    return None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _minutes(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"
