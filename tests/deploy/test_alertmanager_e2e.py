"""The alert path end to end, with nothing stood in for: a real Prometheus (Debian's) scrapes a
real `edm serve --auto-rollback --admin-port` and evaluates the project's own rules; a real
Alertmanager (Debian's) delivers to the admin port with a credentials file. Version 2 is a much
larger network than version 1 (15 times slower per file here): the service replays
Production's requests on the previous version (--auto-rollback's default --previous-share 1),
and the comparative EdmLatencyWorseThanPrevious fires for version 2 against version 1.

Checked: one rollback (2 -> 1), audited with the alert's fingerprint; Alertmanager's repeats of
the alert are answered 2xx, so its own ``alertmanager_notifications_failed_total`` stays 0; a
wrong credentials file gets 401, counted by edm, and changes nothing.

Only the test's copies are shortened: the rule's ``for`` (10m -> 1s) and a ``keep_firing_for``
of 30 s (the alert stays firing after the rollback, as a real one does for minutes, so that
Alertmanager repeats it), scrape and evaluation every second, Alertmanager's group and repeat
intervals 1 s.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
import yaml
from tests.deploy.alertmanager_server import AlertmanagerServer
from tests.deploy.deploy_files import RULE_FILES, require_tool
from tests.deploy.prometheus_server import PrometheusServer
from tests.inference.audio_material import write_material
from tests.servers import free_port
from tests.serving.service_helpers import EdmService, no_tracebacks
from tests.tiny_model import tiny_cnn_checkpoint

from edm.audio.features import FeatureParams
from edm.models import MultiTaskModel, save_checkpoint
from edm.registry import ModelRegistry

TOKEN = "e2e-alert-token"
ALERT = "EdmLatencyWorseThanPrevious"
REPEATS = 5


def shortened_rules(folder: Path) -> list[str]:
    """The repository's rule files with the alert's ``for`` at 1 s and a
    ``keep_firing_for`` of 30 s; nothing else changed."""
    paths = []
    for rule_file in RULE_FILES:
        rules = yaml.safe_load(rule_file.read_text())
        for group in rules["groups"]:
            for rule in group["rules"]:
                if rule.get("alert") == ALERT:
                    rule["for"] = "1s"
                    rule["keep_firing_for"] = "30s"
        path = folder / rule_file.name
        path.write_text(yaml.safe_dump(rules, sort_keys=False))
        paths.append(str(path))
    return paths


@dataclass
class Timeline:
    """Seconds since the traffic started, for the report."""

    started: float = field(default_factory=time.monotonic)
    events: dict[str, float] = field(default_factory=dict)

    def mark(self, event: str) -> None:
        self.events.setdefault(event, round(time.monotonic() - self.started, 1))


@dataclass
class Outcome:
    timeline: Timeline
    trail_before: list
    trail_after: list
    trail_final: list
    production: int | None
    decisions: dict[str, float]
    failed_before_wrong_token: float
    failed_after_wrong_token: float
    unauthorized: float
    notifications: float


def traffic(service: EdmService, clip: Path, stop: threading.Event) -> None:
    """Two clients, one request after the other each, answered by Production."""

    def client() -> None:
        with httpx.Client(base_url=service.url, timeout=60) as http:
            while not stop.is_set():
                with open(clip, "rb") as handle:
                    http.post("/predict", files={"file": (clip.name, handle)})

    with ThreadPoolExecutor(2) as pool:
        for _ in range(2):
            pool.submit(client)


def slow_store(folder: Path, empty_store: Path) -> tuple[Path, ModelRegistry]:
    """Version 1, a tiny network, then version 2, a large one (about 0.7 s against 0.05 s per
    8 s file here), each promoted to Production."""
    store = folder / "mlruns"
    store.mkdir()
    shutil.copyfile(empty_store, store / "mlflow.db")
    registry = ModelRegistry(
        tracking_uri=str(store), promotion_gate=None, download_dir=folder / "downloads"
    )
    (folder / "v1").mkdir()
    (folder / "v2").mkdir()
    fast = tiny_cnn_checkpoint(folder / "v1" / "best.pt", seed=0)
    torch.manual_seed(1)
    large = MultiTaskModel(
        "cnn", hidden_size=512, conv_channels=(128, 256), freq_pooling=(1, 1),
        temporal_dilations=(1, 2, 4, 8, 16, 32),
    )  # fmt: skip
    params = FeatureParams().to_dict()
    slow = save_checkpoint(folder / "v2" / "best.pt", large, feature_params=params)
    for version, checkpoint in enumerate((fast, slow), start=1):
        registry.log_model(checkpoint, f"v{version}", {"backbone": "cnn"}, {"val_loss": 1.0})
        registry.promote_model(version, "Production", reason=f"version {version}")
    return store, registry


def wait(what: Callable[[], Any], label: str, timeout: float, logs: Callable[[], str]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {label}:\n{logs()[-4000:]}")


def run_alert_path(folder: Path, empty_store: Path, env: dict[str, str] | None = None) -> Outcome:
    """The whole scenario; ``env`` adds to the service's environment."""
    store, registry = slow_store(folder, empty_store)
    token_file = folder / "edm-alert-token"
    token_file.write_text(TOKEN + "\n")
    credentials = folder / "alertmanager-credentials"
    credentials.write_text(TOKEN + "\n")
    admin_port = free_port()
    service = EdmService(
        str(store), folder, "--poll-interval", "1", "--auto-rollback", "--admin-port",
        str(admin_port), "--inference-threads", "1",
        env={"EDM_CACHE_DIR": str(folder / "cache"), "EDM_ALERT_TOKEN": "",
             "EDM_ALERT_TOKEN_FILE": str(token_file)} | (env or {}),
    )  # fmt: skip
    alertmanager = AlertmanagerServer(
        require_tool("prometheus-alertmanager"),
        folder / "alertmanager",
        f"http://127.0.0.1:{admin_port}/hooks/alertmanager",
        credentials,
    )
    prometheus = PrometheusServer(
        require_tool("prometheus"),
        folder / "prometheus",
        f"127.0.0.1:{service.port}",
        rule_files=shortened_rules(folder),
        alertmanager=f"127.0.0.1:{alertmanager.port}",
    )
    clip = write_material(folder, "click", 128.0, seconds=8.0)
    stop = threading.Event()
    traffic_thread = threading.Thread(target=traffic, args=(service, clip, stop), daemon=True)

    def logs() -> str:
        return "\n".join((service.log()[-2000:], alertmanager.log()[-2000:], prometheus.log()))

    def decisions() -> dict[str, float]:
        return {
            dict(labels)["result"]: value
            for (name, labels), value in service.metrics().items()
            if name == "edm_auto_rollback_total"
        }

    try:
        alertmanager.start()
        prometheus.start()
        service.wait_started()
        service.wait_for(lambda: service.serving("production") == 2, 90, "version 2 served")
        service.wait_for(lambda: service.serving("previous") == 1, 90, "version 1 replayed")
        trail_before = registry.history()
        # Prometheus sees the counters before the overload, so that rates see every request.
        assert service.predict(clip).status_code == 200
        wait(
            lambda: prometheus.query('edm_requests_total{route="/predict", status="200"}'),
            "the first request scraped",
            30,
            logs,
        )
        timeline = Timeline()
        traffic_thread.start()

        def state() -> str | None:
            for alert in prometheus.api("alerts")["alerts"]:
                labels = alert["labels"]
                if labels["alertname"] == ALERT and labels.get("version") == "2":
                    return alert["state"]
            return None

        wait(lambda: state() is not None, "the alert pending", 30, logs)
        timeline.mark("pending")
        wait(lambda: state() == "firing", "the alert firing", 30, logs)
        timeline.mark("firing")
        wait(lambda: sum(decisions().values()) > 0, "a notification delivered", 30, logs)
        timeline.mark("delivered")
        wait(lambda: registry.stage_holders().production == 1, "the rollback", 30, logs)
        timeline.mark("rolled back")
        stop.set()
        service.wait_for(lambda: service.serving("production") == 1, 30, "version 1 served")
        timeline.mark("version 1 served")
        for count in range(1, REPEATS + 1):
            wait(
                lambda count=count: decisions().get("already_rolled_back", 0) >= count,
                f"repeat {count}",
                30,
                logs,
            )
            timeline.mark(f"repeat {count}")
        failed_before = alertmanager.metric(
            "alertmanager_notifications_failed_total", integration="webhook"
        )
        notifications = alertmanager.metric(
            "alertmanager_notifications_total", integration="webhook"
        )

        # The credentials file goes wrong: Alertmanager reads it again at its next delivery.
        trail_after = registry.history()
        credentials.write_text("not-the-token\n")
        wait(
            lambda: service.metric("edm_alert_notifications_refused_total", reason="unauthorized"),
            "a notification refused for its token",
            30,
            logs,
        )
        timeline.mark("401 for the wrong credentials file")
        wait(
            lambda: alertmanager.metric(
                "alertmanager_notifications_failed_total", integration="webhook"
            ),
            "Alertmanager counting the 401",
            30,
            logs,
        )
        return Outcome(
            timeline=timeline,
            trail_before=trail_before,
            trail_after=trail_after,
            trail_final=registry.history(),
            production=registry.stage_holders().production,
            decisions=decisions(),
            failed_before_wrong_token=failed_before,
            failed_after_wrong_token=alertmanager.metric(
                "alertmanager_notifications_failed_total", integration="webhook"
            ),
            unauthorized=service.metric(
                "edm_alert_notifications_refused_total", reason="unauthorized"
            ),
            notifications=notifications,
        )
    finally:
        stop.set()
        if traffic_thread.is_alive():
            traffic_thread.join(timeout=60)
        prometheus.stop()
        alertmanager.stop()
        no_tracebacks(service.stop())


@pytest.mark.slow
def test_alertmanager_delivers_the_rollback_and_its_repeats_succeed(
    tmp_path: Path, _migrated_empty_store: Path
) -> None:
    outcome = run_alert_path(tmp_path, _migrated_empty_store)
    print("timeline (s since the traffic started):", outcome.timeline.events)

    # One rollback, audited with the alert Alertmanager delivered.
    new = outcome.trail_after[: len(outcome.trail_after) - len(outcome.trail_before)]
    (rollback,) = new
    assert (rollback.action, rollback.version, rollback.displaced_version) == ("rollback", 1, 2)
    assert rollback.reason.startswith(f"auto-rollback: {ALERT} fired for version 2 [alert ")
    assert rollback.user.startswith("edm-serve@")
    assert outcome.decisions["rolled_back"] == 1
    # Alertmanager repeated it; every repeat was a success for Alertmanager.
    assert outcome.decisions["already_rolled_back"] >= REPEATS
    assert outcome.notifications >= 1 + REPEATS
    assert outcome.failed_before_wrong_token == 0
    # A wrong credentials file: 401, counted by edm and by Alertmanager, nothing changed.
    assert outcome.unauthorized >= 1
    assert outcome.failed_after_wrong_token >= 1
    assert outcome.production == 1
    assert outcome.trail_final == outcome.trail_after
