"""The real service on loopback for the tests: `edm serve` in a subprocess on a free port.

(A unique module name: test folders share sys.path.)
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families
from tests.servers import free_port, start_logged, stop, wait_for_http
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry


def promoted_store(
    folder: Path, empty_store: Path, promotions: list[tuple[str, str]]
) -> tuple[Path, ModelRegistry]:
    """A fresh SQLite store in ``folder/mlruns`` (copied from an already migrated empty one)
    with one tiny real version per promotion, promoted in order: ``[("Production", "first"),
    ("Production", "better")]`` leaves v2 in Production with v1 before it."""
    store = folder / "mlruns"
    store.mkdir()
    shutil.copyfile(empty_store, store / "mlflow.db")
    registry = ModelRegistry(
        tracking_uri=str(store), promotion_gate=None, download_dir=folder / "downloads"
    )
    for seed, (stage, reason) in enumerate(promotions):
        (folder / f"seed{seed}").mkdir()
        checkpoint = tiny_cnn_checkpoint(folder / f"seed{seed}" / "best.pt", seed=seed)
        registry.log_model(checkpoint, f"seed-{seed}", {"backbone": "cnn"}, {"best_val_loss": 1.0})
        registry.promote_model(seed + 1, stage, reason=reason)
    return store, registry


class EdmService:
    def __init__(
        self,
        store: str,
        folder: Path,
        *options: str,
        env: dict[str, str] | None = None,
        model_name: str | None = None,
        port: int | None = None,
        api_key: str | None = None,
        entry: list[str] | None = None,
    ) -> None:
        """``entry``: what runs the CLI (default ``-m edm``; a test may start a script that
        wraps it, as ``sleepy_service.py`` does)."""
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = folder / f"serve-{self.port}.log"
        command = [
            sys.executable, *(entry or ["-m", "edm"]), "--tracking-uri", store, "serve",
            "--port", str(self.port), *options,
        ]  # fmt: skip
        if model_name:
            command += ["--model-name", model_name]
        self.process = start_logged(command, self.log_file, dict(os.environ) | (env or {}))
        headers = {"X-API-Key": api_key} if api_key else None
        self.client = httpx.Client(base_url=self.url, timeout=60, headers=headers)

    def wait_started(self, timeout: float = 90.0) -> EdmService:
        wait_for_http(f"{self.url}/health", self.process, self.log_file, timeout=timeout)
        return self

    def wait_for(self, what: Callable[[], bool], timeout: float = 60.0, label: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if what():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {label or what}:\n{self.log()[-3000:]}")

    def wait_ready(self, timeout: float = 60.0) -> None:
        self.wait_for(lambda: self.client.get("/ready").status_code == 200, timeout, "/ready")

    def serving(self, variant: str) -> int | None:
        loaded = self.client.get("/model/info").json()["variants"][variant]["loaded"]
        return loaded["version"] if loaded else None

    def predict(self, audio: Path, **kwargs: object) -> httpx.Response:
        with open(audio, "rb") as handle:
            return self.client.post("/predict", files={"file": (audio.name, handle)}, **kwargs)

    def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """Every sample of /metrics, parsed by prometheus-client's own parser."""
        text = self.client.get("/metrics").text
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        return sum(
            value
            for (sample, sample_labels), value in self.metrics().items()
            if sample == name and labels.items() <= dict(sample_labels).items()
        )

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> str:
        self.client.close()
        stop(self.process)
        return self.log()


def no_tracebacks(log: str) -> None:
    assert "Traceback" not in log, log[-3000:]


def dump(response: httpx.Response) -> str:
    return f"{response.status_code} {json.dumps(response.json()) if response.content else ''}"


def until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def run_quietly(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=120)
