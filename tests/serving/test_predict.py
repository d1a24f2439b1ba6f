"""POST /predict on the real service: both body forms, the same numbers as the pipeline, every
error code of the contract as JSON, and /metrics read with prometheus-client's parser."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest
from tests.inference.audio_material import write_material
from tests.serving.service_helpers import no_tracebacks

from edm.inference.pipeline import File2Structure


def assert_same_numbers(answer: object, expected: object, where: str = "") -> None:
    """Equal, numbers to the millisecond the JSON rounds to: two processes may order float
    sums differently (vectorised code follows memory alignment), which moves a rounding."""
    if isinstance(expected, dict):
        assert isinstance(answer, dict) and answer.keys() == expected.keys(), where
        for key in expected:
            assert_same_numbers(answer[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(answer, list) and len(answer) == len(expected), where
        for index, (a, e) in enumerate(zip(answer, expected, strict=True)):
            assert_same_numbers(a, e, f"{where}[{index}]")
    elif isinstance(expected, float):
        assert answer == pytest.approx(expected, abs=0.0015), where
    else:
        assert answer == expected, where


@pytest.mark.slow
def test_predict_answers_like_the_pipeline_and_refuses_bad_input(
    register, registry, start_service, clip: Path, tmp_path: Path
) -> None:
    version = register(seed=0)
    registry.promote_model(version, "Production")
    service = start_service("--max-upload-mb", "1", "--max-audio-seconds", "10")
    service.wait_ready()
    expected = File2Structure.from_checkpoint(registry.download_version(version, tmp_path / "dl"))
    structure = expected.analyze(clip).structure.to_dict()

    multipart = service.predict(clip)
    assert multipart.status_code == 200, multipart.text
    assert multipart.headers["X-EDM-Model-Version"] == str(version)
    body = multipart.json()
    assert body.pop("model") == {
        "name": "edm-structure-detector",
        "version": version,
        "variant": "production",
    }
    assert_same_numbers(body, structure)
    raw = service.client.post(
        "/predict", content=clip.read_bytes(), headers={"Content-Type": "audio/wav"}
    )
    assert raw.status_code == 200 and raw.json() == multipart.json()
    octet = service.client.post(
        "/predict", content=clip.read_bytes(), headers={"Content-Type": "application/octet-stream"}
    )
    assert octet.status_code == 200 and octet.json()["bpm"] == structure["bpm"]

    def error(response: httpx.Response, status: int, words: str) -> None:
        assert response.status_code == status, response.text
        assert words in response.json()["error"], response.json()

    big = b"\0" * (2 * 1024 * 1024)
    error(
        service.client.post("/predict", content=big, headers={"Content-Type": "audio/wav"}),
        413,
        "declares",
    )
    # No Content-Length (chunked): refused once the body passes the cap, not after it all.
    chunks = (big[i : i + 65536] for i in range(0, len(big), 65536))
    error(
        service.client.post("/predict", content=chunks, headers={"Content-Type": "audio/wav"}),
        413,
        "passed",
    )
    long_clip = write_material(tmp_path, "click", 120.0, seconds=12.0)
    error(service.predict(long_clip), 413, "12.0 s long")
    text = b"this is not audio"
    error(
        service.client.post("/predict", content=text, headers={"Content-Type": "text/plain"}),
        415,
        "Content-Type 'text/plain'",
    )
    error(
        service.client.post("/predict", content=text, headers={"Content-Type": "audio/wav"}),
        422,
        "not decodable audio",
    )
    notes = tmp_path / "notes.wav"
    notes.write_bytes(text)
    error(service.predict(notes), 422, "notes.wav is not decodable audio")
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(clip.read_bytes()[:5000])
    error(service.predict(truncated), 422, "cut.wav")
    error(
        service.client.post("/predict", files={"other": ("x.wav", clip.read_bytes())}), 422, "file"
    )
    error(
        service.client.post("/predict", content=b"", headers={"Content-Type": "audio/wav"}),
        422,
        "empty",
    )
    error(service.client.post("/predict?variant=nightly", content=text), 422, "variant")
    no_staging = service.predict(clip, params={"variant": "staging"})
    error(no_staging, 503, "no Staging model")
    assert no_staging.headers["Retry-After"]
    error(service.client.get("/nowhere"), 404, "Not Found")
    # A raw socket declares 50 MB and sends none of it: the 413 comes back all the same.
    with socket.create_connection(("127.0.0.1", service.port), timeout=30) as connection:
        connection.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
            b"Content-Length: 52428800\r\n\r\n"
        )
        answer = b""
        while chunk := connection.recv(65536):  # the service closes it after the answer
            answer += chunk
        answer = answer.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert '"error"' in answer

    samples = service.metrics()
    names = {name for name, _ in samples}
    for name in (
        "edm_requests_total",
        "edm_request_duration_seconds_bucket",
        "edm_inference_duration_seconds_count",
        "edm_requests_in_progress",
        "edm_audio_duration_seconds_count",
        "edm_model_info",
        "edm_model_reload_total",
        "edm_model_last_reload_timestamp_seconds",
    ):
        assert name in names, name
    assert service.metric("edm_requests_total", route="/predict", status="200") == 3
    assert service.metric("edm_requests_total", route="/predict", status="413") == 4
    assert service.metric("edm_requests_total", route="/predict", status="422") == 6
    assert service.metric("edm_model_info", variant="production", version=str(version)) == 1
    assert service.metric("edm_model_reload_total", result="success") == 1
    assert service.metric("edm_audio_duration_seconds_count") == 3
    assert not any("file" in dict(labels) for _, labels in samples)  # no per-file labels
    docs = service.client.get("/openapi.json").json()
    assert {"/predict", "/ready", "/health", "/model/info", "/metrics"} <= set(docs["paths"])
    assert service.client.get("/docs").status_code == 200
    no_tracebacks(service.stop())
