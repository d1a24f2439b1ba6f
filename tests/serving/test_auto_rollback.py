"""`edm serve --auto-rollback`: Alertmanager's notifications on POST /hooks/alertmanager.

End to end on two real services over one real SQLite store (one with --auto-rollback and a
bearer token, one without), and the decision itself on a real registry with a set clock
(the rollback window is about the promotion's age, which a test cannot wait for).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from tests.inference.audio_material import write_material
from tests.serving.service_helpers import EdmService, no_tracebacks, promoted_store

from edm.errors import ConfigError, InvalidTransitionError
from edm.registry import ModelRegistry
from edm.serving.config import ServeConfig, parse_duration
from edm.serving.rollback import Alert, AutoRollback

TOKEN = "alertmanager-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def alert(
    name: str = "EdmHighErrorRatio",
    version: int | str = 2,
    *,
    status: str = "firing",
    degradation: bool = True,
    started: str | None = None,
) -> dict:
    """One alert as Alertmanager (webhook version 4) sends it."""
    labels = {"alertname": name, "service": "edm", "severity": "critical", "version": str(version)}
    if degradation:
        labels["degradation"] = "true"
    return {
        "status": status,
        "labels": labels,
        "annotations": {"summary": f"edm: {name} (version {version})"},
        "startsAt": started or datetime.now(UTC).isoformat(),
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-27T04:20:00.000Z",
        "generatorURL": "http://127.0.0.1:9090/graph?g0.expr=edm",
        "fingerprint": f"{abs(hash((name, str(version)))):016x}",
    }


def notification(*alerts: dict) -> dict:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{service="edm"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "edm-auto-rollback",
        "groupLabels": {"service": "edm"},
        "commonLabels": {"service": "edm"},
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "alerts": list(alerts),
    }


@dataclass
class World:
    store: str
    registry: ModelRegistry
    armed: EdmService  # --auto-rollback, EDM_ALERT_TOKEN set, polls rarely: follows on trigger
    off: EdmService  # without --auto-rollback
    clip: Path

    def history_length(self) -> int:
        return len(self.registry.history())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path) -> Iterator[World]:
    """v1 then v2 promoted to Production, then both services started (serving v2)."""
    folder = tmp_path_factory.mktemp("auto-rollback")
    store, registry = promoted_store(
        folder, _migrated_empty_store, [("Production", "first"), ("Production", "better")]
    )
    env = {"EDM_CACHE_DIR": str(folder / "cache"), "EDM_ALERT_TOKEN": ""}
    armed = EdmService(
        str(store), folder, "--poll-interval", "600", "--auto-rollback", "--rollback-window",
        "30m", env=env | {"EDM_ALERT_TOKEN": TOKEN},
    )  # fmt: skip
    off = EdmService(str(store), folder, "--poll-interval", "600", env=env)
    clip = write_material(folder, "click", 128.0, seconds=8.0)
    try:
        for service in (armed, off):
            service.wait_started()
            service.wait_for(lambda s=service: s.serving("production") == 2, 90, "version 2")
        yield World(str(store), registry, armed, off, clip)
    finally:
        with ThreadPoolExecutor(2) as pool:  # each takes seconds to drain: stop both at once
            logs = list(pool.map(EdmService.stop, (armed, off)))
    for log in logs:
        no_tracebacks(log)


def post(service: EdmService, body: object, headers: dict | None = None) -> httpx.Response:
    return service.client.post("/hooks/alertmanager", json=body, headers=headers or AUTH)


@pytest.mark.slow
def test_without_auto_rollback_an_alert_changes_nothing(world: World) -> None:
    before = world.history_length()
    answer = post(world.off, notification(alert(version=2)), headers={})
    assert answer.status_code == 200, answer.text
    assert answer.json()["action"] == "none" and answer.json()["result"] == "off"
    assert "--auto-rollback" in answer.json()["reason"]
    assert world.registry.stage_holders().production == 2
    assert world.history_length() == before
    assert world.off.metric("edm_auto_rollback_total", result="off") == 1


@pytest.mark.slow
def test_bad_requests_get_one_line_json_errors(world: World) -> None:
    service = world.armed
    missing = service.client.post("/hooks/alertmanager", json=notification(alert()))
    assert missing.status_code == 401 and "bearer token" in missing.json()["error"]
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = post(service, notification(alert()), headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and TOKEN not in wrong.text
    not_json = service.client.post(
        "/hooks/alertmanager", content=b"{not json", headers=AUTH | {"Content-Type": "text/plain"}
    )
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]
    for body, field in (
        ({"version": "4", "status": "firing"}, "alerts"),
        (notification(alert(status="burning")), "alerts.0.status"),
        (notification(alert()) | {"version": "3"}, "version"),
        (notification({"status": "firing", "labels": {}}), "alerts.0.startsAt"),
        ([1, 2], "the body"),
    ):
        answer = post(service, body)
        assert answer.status_code == 422, (body, answer.text)
        error = answer.json()["error"]
        assert error.startswith("not an Alertmanager notification") and field in error, error
    assert world.registry.stage_holders().production == 2


@pytest.mark.slow
def test_alerts_that_do_not_qualify_change_nothing(world: World) -> None:
    before = world.history_length()
    cases = (
        (notification(alert(status="resolved")), "ignored"),
        (notification(alert("EdmServiceDown", degradation=False)), "ignored"),
        (notification(alert(version="two")), "ignored"),
        (notification(alert(version=1)), "not_production"),
        (notification(alert(version=7), alert(status="resolved")), "not_production"),
    )
    for body, result in cases:
        answer = post(world.armed, body)
        assert answer.status_code == 200, answer.text
        decision = answer.json()
        assert decision["action"] == "none" and decision["result"] == result, decision
    assert "version 2 is" in post(world.armed, notification(alert(version=1))).json()["reason"]
    assert world.registry.stage_holders().production == 2
    assert world.history_length() == before
    assert world.armed.serving("production") == 2


@pytest.mark.slow
def test_a_degradation_alert_rolls_back_once_and_the_service_follows(world: World, run_edm) -> None:
    """Runs last in this module: it moves Production back to version 1."""
    body = notification(alert("EdmLowConfidence", status="resolved"), alert("EdmHighErrorRatio"))
    answer = post(world.armed, body)
    assert answer.status_code == 200, answer.text
    decision = answer.json()
    assert decision["action"] == "rolled_back", decision
    assert (decision["from_version"], decision["to_version"]) == (2, 1)
    assert decision["alert"] == "EdmHighErrorRatio"
    assert world.registry.stage_holders().production == 1

    shown = run_edm("--tracking-uri", world.store, "models", "history", "--json")
    assert shown.exit_code == 0, shown.stderr
    newest = json.loads(shown.stdout)[0]
    assert newest["action"] == "rollback" and newest["version"] == 1
    assert newest["to_stage"] == "Production" and newest["displaced_version"] == 2
    assert newest["reason"].startswith("auto-rollback: EdmHighErrorRatio fired for version 2 [")
    assert newest["user"].startswith("edm-serve@"), newest
    table = run_edm("--tracking-uri", world.store, "models", "history")
    assert "EdmHighErrorRatio" in table.stdout and "edm-serve@" in table.stdout

    # The rollback woke the watcher: it follows now, not at its next poll (10 minutes away).
    world.armed.wait_for(lambda: world.armed.serving("production") == 1, 60, "version 1")
    predicted = world.armed.predict(world.clip)
    assert predicted.status_code == 200 and predicted.json()["model"]["version"] == 1
    assert predicted.headers["X-EDM-Model-Version"] == "1"

    # Alertmanager repeats the firing alert: a success that changes nothing, not a failure.
    before = world.history_length()
    again = post(world.armed, body)
    assert again.status_code == 200 and "error" not in again.json(), again.text
    assert again.json()["action"] == again.json()["result"] == "already_rolled_back", again.text
    assert (again.json()["from_version"], again.json()["to_version"]) == (2, 1), again.text
    restored = post(world.armed, notification(alert("EdmHighLatencyP95", version=1))).json()
    assert restored["action"] == "none" and restored["result"] == "restored", restored
    assert world.registry.stage_holders().production == 1
    assert world.history_length() == before
    assert world.armed.metric("edm_auto_rollback_total", result="rolled_back") == 1


# ---------------------------------------------------------------- the decision, on a set clock


def _register(registry: ModelRegistry, checkpoint: Path, count: int) -> None:
    for number in range(count):
        registry.log_model(checkpoint, f"run-{number}", {}, {})


def test_the_window_is_counted_from_the_promotion_in_the_trail(
    bare_registry: ModelRegistry, checkpoint: Path
) -> None:
    _register(bare_registry, checkpoint, 2)
    bare_registry.promote_model(1, "Production")
    bare_registry.promote_model(2, "Production")
    promoted = bare_registry.history()[0].timestamp
    followed: list[bool] = []
    metrics = CollectorRegistry()
    counter = Counter("edm_auto_rollback", "decisions", ["result"], registry=metrics)
    clock = {"now": promoted + timedelta(minutes=31)}
    rollback = AutoRollback(
        bare_registry,
        counter,
        enabled=True,
        window_s=1800,
        on_rolled_back=lambda: followed.append(True),
        user="edm-serve@test-host",
        clock=lambda: clock["now"],
    )
    fired = [Alert("EdmErrorRatioWorse", firing=True, degradation=True, version=2)]

    late = rollback.handle(fired)
    assert late.result == "outside_window" and "30 min rollback window" in late.reason
    assert bare_registry.stage_holders().production == 2 and not followed

    clock["now"] = promoted + timedelta(minutes=29)
    # Input drift asks for review: never a rollback, even labelled as a degradation by mistake.
    drift = Alert("EdmInputDrift", firing=True, degradation=True, version=2, review=True)
    ignored = rollback.handle([drift])
    assert (ignored.action, ignored.result) == ("none", "ignored")
    assert "review alerts ask a person" in ignored.reason
    assert bare_registry.stage_holders().production == 2 and not followed
    done = rollback.handle(fired)
    assert (done.action, done.from_version, done.to_version) == ("rolled_back", 2, 1)
    assert followed == [True]
    entry = bare_registry.history()[0]
    assert entry.user == "edm-serve@test-host" and entry.reason == done.reason
    assert "EdmErrorRatioWorse" in entry.reason
    repeat = rollback.handle(fired)
    assert (repeat.action, repeat.result, repeat.status) == (
        "already_rolled_back", "already_rolled_back", 200,
    )  # fmt: skip
    assert (repeat.from_version, repeat.to_version) == (2, 1)
    assert metrics.get_sample_value("edm_auto_rollback_total", {"result": "rolled_back"}) == 1


def test_nothing_to_roll_back_to_and_a_version_that_moved_meanwhile(
    bare_registry: ModelRegistry, checkpoint: Path
) -> None:
    _register(bare_registry, checkpoint, 2)
    bare_registry.promote_model(1, "Production")
    counter = Counter("edm_auto_rollback", "decisions", ["result"], registry=CollectorRegistry())
    rollback = AutoRollback(
        bare_registry, counter, enabled=True, window_s=1800, on_rolled_back=lambda: None
    )
    only = rollback.handle([Alert("EdmHighErrorRatio", firing=True, degradation=True, version=1)])
    assert only.result == "no_previous" and "nothing to roll back to" in only.reason
    assert bare_registry.stage_holders().production == 1

    bare_registry.promote_model(2, "Production")
    with pytest.raises(InvalidTransitionError, match=r"version 1 .* no longer in Production"):
        bare_registry.rollback(reason="stale evidence", only_from=1)
    assert bare_registry.stage_holders().production == 2


def test_durations_and_window_settings() -> None:
    texts = ("1800", "90s", "30m", "1h", "1.5h", "1d")
    assert [parse_duration(text, "--rollback-window") for text in texts] == [
        1800.0, 90.0, 1800.0, 3600.0, 5400.0, 86400.0,
    ]  # fmt: skip
    for bad in ("", "soon", "30 minutes", "-5m", "1w"):
        with pytest.raises(ConfigError, match=r"--rollback-window '.*' is not a duration"):
            parse_duration(bad, "--rollback-window")
    with pytest.raises(ConfigError, match="--rollback-window must be positive"):
        ServeConfig(rollback_window_s=0)
    config = ServeConfig(auto_rollback=True, rollback_window_s=600)
    assert ServeConfig.from_json(config.to_json()) == config
    assert not ServeConfig().auto_rollback


def test_serve_refuses_a_bad_window_in_one_line(run_edm, store_uri: str) -> None:
    result = run_edm("--tracking-uri", store_uri, "serve", "--rollback-window", "soon")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: --rollback-window 'soon' is not a duration: give seconds (1800) or a number "
        "with s, m, h or d (30m)"
    ]
