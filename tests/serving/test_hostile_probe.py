"""Issue 28, points 1-7: what a hostile client on loopback found, on the real service.

A 300-digit MLflow timestamp (401, one line), JSON nested 5,000 deep on both hooks (400,
counted as malformed), empty and otherwise refused uploads (no temporary file left), numbers
for an alert's date-times (422), a keys file gone missing (one log line, not one per
request), a whitespace-only alert token (refused at start), a replayed MLflow delivery (409).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.servers import free_port
from tests.serving.service_helpers import EdmService, no_tracebacks, promoted_store
from tests.serving.slow_senders import SlowSender

from edm.api_keys import hash_key
from edm.errors import ConfigError, DataError, WebhookRefusedError
from edm.monitoring.reference import DriftReference
from edm.serving.config import ServeConfig
from edm.serving.webhook import Deliveries, sign, verify

API_KEY = "probe-client-key-0123456789"
TOKEN = "probe-alert-token"
SECRET = "probe-webhook-secret"
DEEP = b"[" * 5000 + b"]" * 5000


@dataclass
class Probed:
    service: EdmService
    keys: Path
    spool: Path  # the service's TMPDIR: where its uploads are spooled

    def uploads_left(self) -> list[str]:
        return sorted(p.name for p in self.spool.glob("edm-upload-*"))


@pytest.fixture(scope="module")
def probed(
    tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path
) -> Iterator[Probed]:
    folder = tmp_path_factory.mktemp("probe")
    store, _ = promoted_store(folder, _migrated_empty_store, [("Production", "first")])
    keys = folder / "api-keys"
    keys.write_text(f"prober:{hash_key(API_KEY)}\n")
    spool = folder / "spool"
    spool.mkdir()
    env = {
        "EDM_CACHE_DIR": str(folder / "cache"),
        "EDM_ALERT_TOKEN": TOKEN,
        "EDM_WEBHOOK_SECRET": SECRET,
        "TMPDIR": str(spool),
    }
    service = EdmService(
        str(store), folder, "--poll-interval", "600", "--auto-rollback", "--rollback-window",
        "1s", "--api-keys-file", str(keys), "--max-upload-mb", "1", "--body-timeout", "2s",
        env=env, api_key=API_KEY,
    )  # fmt: skip
    try:
        service.wait_started()
        service.wait_for(lambda: service.serving("production") == 1, 90, "version 1")
        yield Probed(service, keys, spool)
    finally:
        log = service.stop()
    no_tracebacks(log)
    assert TOKEN not in log and SECRET not in log


def signed(body: bytes, delivery: str, timestamp: str | None = None) -> dict[str, str]:
    timestamp = timestamp or str(int(time.time()))
    return {
        "X-MLflow-Signature": sign(SECRET, delivery, timestamp, body),
        "X-MLflow-Delivery-Id": delivery,
        "X-MLflow-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


# ---------------------------------------------------------------- 1: the timestamp


@pytest.mark.parametrize("digits", [310, 1000, 4300, 5000])
def test_a_timestamp_of_hundreds_of_digits_is_refused_before_any_arithmetic(digits: int) -> None:
    body = b"{}"
    headers = signed(body, "d1", "9" * digits)
    with pytest.raises(WebhookRefusedError, match="not a Unix time"):
        verify(SECRET, headers, body)


@pytest.mark.slow
def test_mlflow_hook_answers_401_in_one_line_to_an_overlong_timestamp(probed: Probed) -> None:
    for digits in (310, 4300):
        headers = signed(b"{}", f"long-{digits}", "1" * digits)
        answer = probed.service.client.post("/hooks/mlflow", content=b"{}", headers=headers)
        assert answer.status_code == 401, answer.text
        assert answer.json()["error"].count("\n") == 0
    assert "OverflowError" not in probed.service.log()


@pytest.mark.slow
def test_a_hook_body_sent_a_byte_a_second_is_cut_off_after_the_body_timeout(
    probed: Probed,
) -> None:
    """The hooks read their small bodies under --body-timeout (2 s here) as /predict does."""
    body = b"{" + b" " * 4000 + b"}"
    json_type = {"Content-Type": "application/json"}
    senders = {
        "/hooks/mlflow": SlowSender(
            probed.service.port, body=body, path="/hooks/mlflow",
            headers={**signed(body, "slow-1"), **json_type}, limit_s=20,
        ),
        "/hooks/alertmanager": SlowSender(
            probed.service.port, body=body, path="/hooks/alertmanager",
            headers={"Authorization": f"Bearer {TOKEN}", **json_type}, limit_s=20,
        ),
    }  # fmt: skip
    for path, sender in senders.items():
        sender.wait(20)
        assert sender.status == 408, (path, sender.answer)
        assert b"--body-timeout" in sender.answer and b"connection: close" in sender.answer.lower()
    assert probed.service.metric("edm_requests_total", route="/hooks/mlflow", status="408") >= 1
    assert "Traceback" not in probed.service.log()


# ---------------------------------------------------------------- 2: deep JSON


@pytest.mark.slow
def test_json_nested_5000_deep_is_400_on_both_hooks(probed: Probed) -> None:
    client = probed.service.client
    answer = client.post("/hooks/mlflow", content=DEEP, headers=signed(DEEP, "deep-1"))
    assert answer.status_code == 400, answer.text
    assert "nested too deep" in answer.json()["error"]
    before = probed.service.metric("edm_alert_notifications_refused_total", reason="malformed")
    answer = client.post(
        "/hooks/alertmanager", content=DEEP, headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 400, answer.text
    after = probed.service.metric("edm_alert_notifications_refused_total", reason="malformed")
    assert after == before + 1
    assert "RecursionError" not in probed.service.log()


def test_json_files_nested_too_deep_are_one_line_errors(tmp_path: Path) -> None:
    """The JSON the CLI reads (edm monitor drift --reference) and the service's own config."""
    reference = tmp_path / "reference.json"
    reference.write_bytes(DEEP)
    with pytest.raises(DataError, match="nested too deep"):
        DriftReference.read(reference)
    with pytest.raises(ConfigError, match="not valid JSON"):
        ServeConfig.from_json(DEEP.decode())


# ---------------------------------------------------------------- 3: temp files


@pytest.mark.slow
def test_refused_uploads_leave_no_temporary_file(probed: Probed) -> None:
    client = probed.service.client
    for number in range(100):  # the case: an empty upload, suffix and all
        answer = client.post("/predict", files={"file": (f"empty{number}.wav", b"")})
        assert answer.status_code == 422, answer.text
    refusals = [
        ({"files": {"file": ("x.flac", b"not audio at all")}}, 422),  # undecodable
        ({"files": {"other": ("x.wav", b"RIFF")}}, 422),  # no field 'file'
        ({"content": b"x" * 2_000_000, "headers": {"Content-Type": "audio/wav"}}, 413),
        ({"content": b"", "headers": {"Content-Type": "audio/wav"}}, 422),
        ({"content": b"abc", "headers": {"Content-Type": "text/plain"}}, 415),
        (
            {
                "content": b"--b\r\nnonsense",
                "headers": {"Content-Type": "multipart/form-data; boundary=b"},
            },
            422,
        ),
    ]
    for request, status in refusals:
        answer = client.post("/predict", **request)
        assert answer.status_code in (status, 400), (request, answer.text)
    probed.service.wait_for(lambda: not probed.uploads_left(), 10, "no upload left")


# ---------------------------------------------------------------- 4: date-times


@pytest.mark.slow
@pytest.mark.parametrize("when", [1_700_000_000, 1.7e9, "1700000000", True])
def test_alert_date_times_must_be_date_time_strings(probed: Probed, when: object) -> None:
    for field in ("startsAt", "endsAt"):
        alert = {"status": "firing", "labels": {"alertname": "X"},
                 "startsAt": datetime.now(UTC).isoformat(), field: when}  # fmt: skip
        body = {"version": "4", "status": "firing", "alerts": [alert]}
        answer = probed.service.client.post(
            "/hooks/alertmanager", json=body, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 422, answer.text
        assert f"alerts.0.{field}" in answer.json()["error"]


# ---------------------------------------------------------------- 5: the keys file


@pytest.mark.slow
def test_a_missing_keys_file_is_logged_once_not_per_request(probed: Probed) -> None:
    text = probed.keys.read_text()
    probed.keys.unlink()
    try:
        for _ in range(50):
            assert probed.service.client.get("/model/info").status_code == 200
    finally:
        probed.keys.write_text(text)
    assert probed.service.client.get("/model/info").status_code == 200
    lines = [line for line in probed.service.log().splitlines() if "cannot be read" in line]
    assert len(lines) == 1, lines


# ---------------------------------------------------------------- 6: a blank token


def test_auto_rollback_refuses_a_whitespace_token(store_uri: str, tmp_path: Path) -> None:
    edm = Path(sys.executable).with_name("edm")
    for token in ("   ", "\t \n"):
        done = subprocess.run(
            [str(edm), "--tracking-uri", store_uri, "serve", "--auto-rollback",
             "--port", str(free_port())],
            capture_output=True, text=True, timeout=60,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "EDM_ALERT_TOKEN": token},
        )  # fmt: skip
        assert done.returncode == 1, done.stdout + done.stderr
        assert "--auto-rollback needs an alert token" in done.stderr


# ---------------------------------------------------------------- 7: replays


def test_deliveries_are_remembered_for_the_window() -> None:
    now = [1000.0]
    seen = Deliveries(window_s=600, clock=lambda: now[0])
    assert seen.first_time("a") and not seen.first_time("a")
    now[0] += 599
    assert not seen.first_time("a") and seen.first_time("b")
    now[0] += 2
    assert seen.first_time("a")  # forgotten: its timestamp is now refused as too old anyway


@pytest.mark.slow
def test_a_replayed_mlflow_delivery_is_409(probed: Probed) -> None:
    body = json.dumps({"entity": "model_version", "action": "created", "data": {}}).encode()
    headers = signed(body, "delivery-replayed")
    client = probed.service.client
    first = client.post("/hooks/mlflow", content=body, headers=headers)
    assert first.status_code == 200, first.text
    again = client.post("/hooks/mlflow", content=body, headers=headers)
    assert again.status_code == 409 and "replay" in again.json()["error"]
    fresh = client.post("/hooks/mlflow", content=body, headers=signed(body, "delivery-new"))
    assert fresh.status_code == 200
