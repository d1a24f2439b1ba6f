"""No client can starve /predict, on the real service: slow senders hold no analysis slot and
time out (408), a stuck analysis is answered 504 and frees its slot, and SIGTERM drains the
requests in flight and exits 0."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest
from tests.inference.audio_material import write_material
from tests.serving.service_helpers import no_tracebacks, until
from tests.serving.slow_senders import SlowSender

from edm.serving.stages import on_drain_signal

SLEEPY = [str(Path(__file__).with_name("sleepy_service.py"))]
AUDIO = {"Content-Type": "audio/wav"}


def timed_predict(client: httpx.Client, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post("/predict", content=body, headers=AUDIO)
    assert response.status_code == 200, response.text
    return time.perf_counter() - started


@pytest.mark.slow
def test_sixteen_slow_senders_do_not_starve_an_honest_client(
    register, registry, start_service, clip: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    service = start_service(
        "--max-concurrency", "2", "--body-timeout", "12", "--max-receiving", "17"
    )
    service.wait_ready()
    body = clip.read_bytes()
    normal = max(timed_predict(service.client, body) for _ in range(3))

    # 16 clients declare 1 MB and send a byte a second (the reproduction, times 8).
    senders = [SlowSender(service.port, limit_s=30) for _ in range(16)]
    # Generous waits: the assertions are about what happens, not how fast a loaded CI is.
    service.wait_for(lambda: service.metric("edm_uploads_receiving") == 16, 30, "16 receiving")
    assert service.metric("edm_requests_in_progress") == 0  # no analysis slot held
    slowed = [timed_predict(service.client, body) for _ in range(3)]
    # The honest client gets 200 within its normal latency (a wide margin: a shared machine).
    assert max(slowed) < 3 * normal + 1.0, (normal, slowed)

    # The receiving places are bounded too: the 17th body takes the last, the 18th gets 503.
    last = SlowSender(service.port, limit_s=30)
    service.wait_for(lambda: service.metric("edm_uploads_receiving") == 17, 30, "17 receiving")
    refused = SlowSender(service.port, limit_s=5)
    refused.wait(6)
    assert refused.status == 503, refused.answer
    assert b"--max-receiving" in refused.answer

    # Every slow body is cut off after --body-timeout: 408, and its connection closed.
    for sender in [*senders, last]:
        sender.wait(25)
        assert sender.status == 408, sender.answer
        assert b"--body-timeout" in sender.answer
    assert until(lambda: service.metric("edm_uploads_receiving") == 0, 5)
    assert service.metric("edm_requests_total", route="/predict", status="408") == 17
    assert service.metric("edm_requests_total", route="/predict", status="200") == 6
    timed_predict(service.client, body)
    no_tracebacks(service.stop())


@pytest.mark.slow
def test_a_stuck_analysis_gets_504_and_frees_its_slot(
    register, registry, start_service, clip: Path, tmp_path: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    # Analyses of audio over 10 s sleep 10 s first (sleepy_service.py); two analysis threads.
    service = start_service(
        "--max-concurrency", "1", "--inference-threads", "2", "--analysis-timeout", "2",
        entry=SLEEPY, env={"EDM_TEST_SLEEP_S": "10"},
    )  # fmt: skip
    service.wait_ready()
    stuck_clip = write_material(tmp_path, "click", 120.0, seconds=12.0).read_bytes()
    honest = clip.read_bytes()

    def stuck() -> None:
        started = time.perf_counter()
        response = service.client.post("/predict", content=stuck_clip, headers=AUDIO)
        assert response.status_code == 504, response.text
        assert "--analysis-timeout" in response.json()["error"]
        assert time.perf_counter() - started < 8  # answered long before the analysis returns

    stuck()
    assert service.metric("edm_analyses_overrunning") == 1
    assert service.metric("edm_requests_in_progress") == 0
    # --max-concurrency 1: the one slot is free again, and the other thread answers.
    timed_predict(service.client, honest)
    assert service.client.get("/ready").status_code == 200
    # A second stuck analysis holds the other thread: /ready says so until one returns.
    stuck()
    assert service.metric("edm_analyses_overrunning") == 2
    not_ready = service.client.get("/ready")
    assert not_ready.status_code == 503, not_ready.text
    assert "analysis threads" in not_ready.json()["error"]
    service.wait_for(lambda: service.metric("edm_analyses_overrunning") == 0, 30, "threads back")
    service.wait_ready(10)
    timed_predict(service.client, honest)
    assert service.metric("edm_requests_total", route="/predict", status="504") == 2
    no_tracebacks(service.stop())


@pytest.mark.slow
def test_sigterm_drains_eight_requests_in_flight_and_exits_zero(
    register, registry, start_service, clip: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    service = start_service("--max-concurrency", "8", "--drain-seconds", "90")
    service.wait_ready()
    body = clip.read_bytes()
    # Eight requests in flight, each half-way through its body.
    senders = [
        SlowSender(service.port, body=body, first=len(body) // 2, hold=True, limit_s=120)
        for _ in range(8)
    ]
    service.wait_for(lambda: service.metric("edm_uploads_receiving") == 8, 30, "8 receiving")
    service.client.close()  # an idle keep-alive connection would be closed by the drain anyway

    service.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # told to stop: never ready again
        try:
            ready = httpx.get(f"{service.url}/ready", timeout=1)
        except httpx.TransportError:
            pass  # not accepting any more
        else:
            assert ready.status_code == 503, ready.text
        time.sleep(0.1)
    assert service.process.poll() is None  # still finishing what it took in

    for sender in senders:
        sender.finish()
    for sender in senders:
        sender.wait(100)
        assert sender.status == 200, sender.answer[:500]
        answer = json.loads(sender.answer.split(b"\r\n\r\n", 1)[1])
        assert answer["beats"] and answer["model"]["variant"] == "production"
    assert service.process.wait(timeout=100) == 0
    log = service.log()
    no_tracebacks(log)
    assert "Shutting down" in log


def test_the_drain_signal_runs_first_then_the_installed_handler() -> None:
    """A real SIGTERM to this process, as the service gets it (handlers run on the main
    thread, where pytest runs the tests)."""
    calls: list[str] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append("server"))
    try:
        restore = on_drain_signal(lambda: calls.append("drain"))
        signal.raise_signal(signal.SIGTERM)
        assert calls == ["drain", "server"]
        restore()
        signal.raise_signal(signal.SIGTERM)
        assert calls == ["drain", "server", "server"]
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_stages_options_are_checked() -> None:
    from edm.errors import ConfigError
    from edm.serving.config import ServeConfig

    for option, value in (
        ("body_timeout_s", 0.0),
        ("analysis_timeout_s", -1.0),
        ("drain_seconds", 0.0),
        ("max_receiving", 0),
    ):
        with pytest.raises(ConfigError, match="--" + option.removesuffix("_s").replace("_", "-")):
            ServeConfig(**{option: value})
