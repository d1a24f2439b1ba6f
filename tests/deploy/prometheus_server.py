"""Debian's Prometheus server for the tests: started on a free loopback port with its own
config (deploy/prometheus/prometheus.yml pointed at the service under test) and its own data
folder, never the system one.

(A unique module name: test folders share sys.path.)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from tests.deploy.deploy_files import PROMETHEUS_DIR
from tests.servers import free_port, start_logged, stop, wait_for_http


class PrometheusServer:
    def __init__(
        self,
        binary: str,
        folder: Path,
        service_target: str,
        *,
        rule_files: list[str] | None = None,
        alertmanager: str | None = None,
    ) -> None:
        """``rule_files``: instead of the repository's; ``alertmanager``: host:port to send the
        alerts to (by default none: the rules' states are read from the API)."""
        self.binary = binary
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = folder / "prometheus.log"
        self.config_file = folder / "prometheus.yml"
        config = yaml.safe_load((PROMETHEUS_DIR / "prometheus.yml").read_text())
        # Fast enough for a test: the rules' windows still hold several samples.
        config["global"].update(scrape_interval="1s", evaluation_interval="1s")
        config["rule_files"] = rule_files or [
            str(PROMETHEUS_DIR / pattern) for pattern in config["rule_files"]
        ]
        if alertmanager is None:
            config.pop("alerting")
        else:
            config["alerting"]["alertmanagers"][0]["static_configs"] = [{"targets": [alertmanager]}]
        for job in config["scrape_configs"]:
            target = service_target if job["job_name"] == "edm-serve" else f"127.0.0.1:{self.port}"
            job["static_configs"] = [{"targets": [target]}]
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process = None
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self) -> PrometheusServer:
        command = [
            self.binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--log.level=warn",
        ]
        self.process = start_logged(command, self.log_file)
        wait_for_http(f"{self.url}/-/ready", self.process, self.log_file, timeout=60)
        return self

    def api(self, path: str, **params: str) -> Any:
        """The `data` of an API answer; an error answer fails with Prometheus's message."""
        response = self.client.get(f"/api/v1/{path}", params=params)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", (
            f"{path} {params}: {response.status_code} {body.get('errorType')}: {body.get('error')}"
        )
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", (expr, data["resultType"])
        return data["result"]

    def wait_for(self, what: Callable[[], Any], label: str, timeout: float = 60.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = what()
            if value:
                return value
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {label}:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        self.client.close()
        if self.process is not None:
            stop(self.process)
