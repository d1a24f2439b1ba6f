"""Issue 20's case, as a hostile client would try it on loopback: a hand-written Alertmanager
notification (a version in Production, a `startsAt`, a fingerprint) must not move the
registry's production alias.

Without a token the service does not start with --auto-rollback. With one, on a real service
whose hooks listen on their own loopback port (--admin-port), a forged alert gets 401, a
replayed or stale one 409, and the alias stays; each refusal is counted by reason and logged
at most once a minute per reason. Alertmanager's repeats of the alert acted on are answered
200, changing nothing. Then the replay rules on a set clock, with a fresh decider standing in
for a restarted service, and the refusals' log limit on a set clock.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter
from tests.servers import free_port
from tests.serving.service_helpers import EdmService, no_tracebacks, promoted_store

from edm.registry import ModelRegistry
from edm.serving.refusals import REASONS, NotificationRefusals
from edm.serving.rollback import Alert, AutoRollback

TOKEN = "the-alertmanager-token"
FINGERPRINT = "5f1e2d3c4b5a6978"


def notification(version: int | str, started: datetime, fingerprint: str = FINGERPRINT) -> dict:
    """What the issue's hostile client wrote by hand: the fields the rollback reads."""
    return {
        "version": "4",
        "status": "firing",
        "receiver": "edm-service",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "EdmHighErrorRatio", "degradation": "true",
                           "version": str(version)},
                "startsAt": started.isoformat(),
                "fingerprint": fingerprint,
            }
        ],
    }  # fmt: skip


def test_auto_rollback_does_not_start_without_a_token(store_uri: str, tmp_path: Path) -> None:
    edm = Path(sys.executable).with_name("edm")
    for environment in ({}, {"EDM_ALERT_TOKEN": ""}, {"EDM_ALERT_TOKEN_FILE": str(tmp_path)}):
        done = subprocess.run(
            [str(edm), "--tracking-uri", store_uri, "serve", "--auto-rollback",
             "--port", str(free_port())],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)} | environment,
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
        if "EDM_ALERT_TOKEN_FILE" in environment:
            assert "EDM_ALERT_TOKEN_FILE names a file that cannot be read" in lines[0]
        else:
            assert "--auto-rollback needs an alert token: set EDM_ALERT_TOKEN" in lines[0]


@dataclass
class Armed:
    registry: ModelRegistry
    service: EdmService
    admin: httpx.Client  # the hooks' listener

    def production(self) -> int | None:
        return self.registry.stage_holders().production


@pytest.fixture(scope="module")
def armed(tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path) -> Iterator[Armed]:
    """v1 then v2 promoted; the service with --auto-rollback, the token from a file, and the
    hooks on their own loopback port."""
    folder = tmp_path_factory.mktemp("forged")
    store, registry = promoted_store(
        folder, _migrated_empty_store, [("Production", "first"), ("Production", "better")]
    )
    token_file = folder / "alert-token"
    token_file.write_text(TOKEN + "\n")
    admin_port = free_port()
    env = {"EDM_CACHE_DIR": str(folder / "cache"), "EDM_ALERT_TOKEN": "",
           "EDM_ALERT_TOKEN_FILE": str(token_file)}  # fmt: skip
    service = EdmService(
        str(store), folder, "--poll-interval", "600", "--auto-rollback",
        "--admin-port", str(admin_port), env=env,
    )  # fmt: skip
    admin = httpx.Client(base_url=f"http://127.0.0.1:{admin_port}", timeout=60)
    try:
        service.wait_started()
        yield Armed(registry, service, admin)
    finally:
        admin.close()
        log = service.stop()
    no_tracebacks(log)
    assert TOKEN not in log


def post(client: httpx.Client, body: dict, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/hooks/alertmanager", json=body, headers=headers)


@pytest.mark.slow
def test_hooks_answer_on_the_admin_listener_only(armed: Armed) -> None:
    public, admin = armed.service.client, armed.admin
    for path in ("/hooks/alertmanager", "/hooks/mlflow"):
        refused = public.post(path, json={})
        assert refused.status_code == 404 and "admin listener" in refused.json()["error"]
    assert "/hooks/alertmanager" not in public.get("/openapi.json").json()["paths"]
    for path in ("/health", "/metrics"):
        assert public.get(path).status_code == admin.get(path).status_code == 200
    for path in ("/model/info", "/docs", "/openapi.json"):
        assert admin.get(path).status_code == 404, path
    assert admin.post("/predict", content=b"RIFF").status_code == 404


@pytest.mark.slow
def test_a_forged_alert_is_refused_counted_and_the_alias_stays(armed: Armed) -> None:
    trail = armed.registry.history()
    refused = armed.service.metric("edm_alert_notifications_refused_total", reason="unauthorized")
    assert refused == 0  # the series is there before the first refusal
    forged = notification(2, datetime.now(UTC))
    for token in (None, "guessed", TOKEN + "x", TOKEN[:-1]):
        answer = post(armed.admin, forged, token)
        assert answer.status_code == 401, answer.text
        assert answer.json() == {  # the token came from the file, and the answer says so
            "error": "alert refused: missing or wrong bearer token "
            "(set in the file EDM_ALERT_TOKEN_FILE names)"
        }
    as_basic = armed.admin.post(
        "/hooks/alertmanager", json=forged, headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert as_basic.status_code == 401
    assert post(armed.service.client, forged).status_code == 404  # not on the public port
    assert armed.production() == 2 and armed.registry.history() == trail
    metric = armed.service.metric
    assert metric("edm_alert_notifications_refused_total", reason="unauthorized") == 5
    # Five refusals, one line in the log: the first, with the client's address and no token.
    armed.service.wait_for(lambda: "refused (unauthorized)" in armed.service.log(), 10, "log")
    lines = [line for line in armed.service.log().splitlines() if "refused (unauthorized)" in line]
    assert len(lines) == 1, lines
    assert "alertmanager notification from 127.0.0.1 refused (unauthorized): " in lines[0]
    assert "no Authorization header" in lines[0] and TOKEN[:8] not in lines[0]
    not_json = armed.admin.post(
        "/hooks/alertmanager", content=b"{", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert not_json.status_code == 400
    assert metric("edm_alert_notifications_refused_total", reason="malformed") == 1


@pytest.mark.slow
def test_a_replayed_or_stale_alert_is_refused_and_the_alias_stays(armed: Armed) -> None:
    """Runs after the forged-alert test: it rolls Production back once."""
    promoted = armed.registry.history()[0].timestamp
    # A version label of 5000 digits was a 500 (int() refuses over 4300 digits): now ignored.
    huge = post(armed.admin, notification("9" * 5000, datetime.now(UTC)))
    assert huge.status_code == 200 and huge.json()["result"] == "ignored", huge.text
    stale = post(armed.admin, notification(2, promoted - timedelta(minutes=5), "0123456789abcdef"))
    assert stale.status_code == 409, stale.text
    assert stale.json()["result"] == "stale" and "replay refused" in stale.json()["error"]
    assert armed.production() == 2

    started = datetime.now(UTC)
    genuine = notification(2, started)
    acted = post(armed.admin, genuine)
    assert acted.status_code == 200 and acted.json()["action"] == "rolled_back", acted.text
    assert armed.production() == 1
    trail = armed.registry.history()
    assert trail[0].reason.endswith(f"[alert 5f1e2d3c4b5a6978 since {_iso(started)}]")

    # Alertmanager repeats it (repeat_interval): a success, nothing more is done.
    for _ in range(3):
        repeated = post(armed.admin, genuine)
        assert repeated.status_code == 200, repeated.text
        assert repeated.json()["action"] == "already_rolled_back", repeated.text
        assert "the same alert [alert 5f1e2d3c4b5a6978 since" in repeated.json()["reason"]
    # Another alert about the promotion rolled back is no news either; one older than the
    # promotion is about an earlier time in Production: refused.
    other = post(armed.admin, notification(2, datetime.now(UTC), "0a0b0c0d0e0f0a0b"))
    assert other.status_code == 200 and other.json()["action"] == "already_rolled_back"
    older = post(armed.admin, notification(2, promoted - timedelta(minutes=1), "0a0b0c0d0e0f0a0c"))
    assert older.status_code == 409 and older.json()["result"] == "stale", older.text
    assert armed.production() == 1 and armed.registry.history() == trail

    # A person puts version 2 back: the old alert, acted on, is about its earlier time.
    armed.registry.promote_model(2, "Production", reason="fixed upstream")
    again = post(armed.admin, genuine)
    assert again.status_code == 409 and again.json()["result"] == "replay", again.text
    assert "the same alert [alert 5f1e2d3c4b5a6978 since" in again.json()["error"]
    assert "before version 2 was promoted again" in again.json()["error"]
    moved = post(armed.admin, notification(2, started, "feedfacefeedface"))
    assert moved.status_code == 409 and moved.json()["result"] == "stale", moved.text
    assert armed.production() == 2
    metric = armed.service.metric
    assert metric("edm_alert_notifications_refused_total", reason="stale") == 3
    assert metric("edm_alert_notifications_refused_total", reason="replay") == 1
    assert metric("edm_auto_rollback_total", result="already_rolled_back") == 4


# ---------------------------------------------------------------- the replay rules, set clock


def test_replays_are_refused_by_a_restarted_service_too(
    bare_registry: ModelRegistry, checkpoint: Path
) -> None:
    for number in range(2):
        bare_registry.log_model(checkpoint, f"run-{number}", {}, {})
    bare_registry.promote_model(1, "Production")
    bare_registry.promote_model(2, "Production")
    promoted = bare_registry.history()[0].timestamp
    clock = {"now": promoted + timedelta(minutes=2)}

    def decider() -> AutoRollback:
        counter = Counter("edm_auto_rollback", "", ["result"], registry=CollectorRegistry())
        return AutoRollback(
            bare_registry, counter, enabled=True, window_s=1800, on_rolled_back=lambda: None,
            clock=lambda: clock["now"],
        )  # fmt: skip

    def fired(started: datetime, fingerprint: str = "aa11") -> list[Alert]:
        return [Alert("EdmDrift", True, True, 2, started, fingerprint)]

    early = decider().handle(fired(promoted - timedelta(seconds=1)))
    assert (early.result, early.status) == ("stale", 409)
    first = decider()
    done = first.handle(fired(promoted + timedelta(minutes=1)))
    assert done.action == "rolled_back" and done.status == 200
    marker = f"[alert aa11 since {_iso(promoted + timedelta(minutes=1))}]"
    assert bare_registry.history()[0].reason.endswith(marker)
    restarted = decider()  # a new process: nothing in memory, the trail still says it
    for decision in (
        first.handle(fired(promoted + timedelta(minutes=1))),
        restarted.handle(fired(promoted + timedelta(minutes=1))),
    ):
        assert decision.status == 200 and decision.action == "already_rolled_back", decision
        assert (decision.from_version, decision.to_version) == (2, 1)
    stale = restarted.handle(fired(promoted - timedelta(seconds=1), "bb22"))
    assert (stale.result, stale.status) == ("stale", 409)
    assert bare_registry.stage_holders().production == 1


def test_refusals_are_all_counted_and_logged_once_a_minute_per_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    metrics = CollectorRegistry()
    counter = Counter("edm_alert_notifications_refused", "", ["reason"], registry=metrics)
    clock = {"now": 1000.0}
    refusals = NotificationRefusals(counter, clock=lambda: clock["now"])

    def count(reason: str) -> float | None:
        return metrics.get_sample_value("edm_alert_notifications_refused_total", {"reason": reason})

    assert [count(reason) for reason in REASONS] == [0, 0, 0, 0]  # exported before any refusal
    caplog.set_level("WARNING", logger="edm.serving.refusals")
    wrong = ("unauthorized", "10.0.0.9", "a wrong bearer token")
    logged = [refusals.refused(*wrong), refusals.refused(*wrong)]
    clock["now"] += 30
    logged += [refusals.refused(*wrong)]
    logged += [refusals.refused("stale", "10.0.0.8", "the alert started at ...")]
    clock["now"] += 31
    logged += [refusals.refused("unauthorized", "10.0.0.7", "no Authorization header")]
    assert logged == [True, False, False, True, True]
    assert (count("unauthorized"), count("stale"), count("replay")) == (4, 1, 0)
    messages = [record.getMessage() for record in caplog.records]
    assert messages == [
        "alertmanager notification from 10.0.0.9 refused (unauthorized): a wrong bearer token",
        "alertmanager notification from 10.0.0.8 refused (stale): the alert started at ...",
        "alertmanager notification from 10.0.0.7 refused (unauthorized): no Authorization "
        "header (2 more since the last message)",
    ]
    with pytest.raises(ValueError, match="unknown refusal reason"):
        refusals.refused("bored", "10.0.0.1", "")


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds")
