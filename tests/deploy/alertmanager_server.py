"""Debian's Alertmanager for the tests: started on a free loopback port with a copy of
deploy/alertmanager/alertmanager.yml that delivers to the service under test, its own data
folder, and no cluster listener.

(A unique module name: test folders share sys.path.)
"""

from __future__ import annotations

from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from tests.deploy.deploy_files import DEPLOY
from tests.servers import free_port, start_logged, stop, wait_for_http


class AlertmanagerServer:
    def __init__(self, binary: str, folder: Path, hook_url: str, credentials_file: Path) -> None:
        """The repository's config with the webhook's URL and credentials file replaced and
        its timings shortened (``group_wait`` 1 s, ``group_interval`` and
        ``repeat_interval`` 1 s: a firing alert is repeated about every second)."""
        self.binary = binary
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_file = folder / "alertmanager.log"
        self.config_file = folder / "alertmanager.yml"
        config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
        timings = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1s"}
        config["route"].update(timings)
        for route in config["route"].get("routes", []):
            route.update(timings)
        for receiver in config["receivers"]:
            for hook in receiver.get("webhook_configs", []):
                hook["url"] = hook_url
                hook["http_config"]["authorization"]["credentials_file"] = str(credentials_file)
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))
        self.process = None
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self) -> AlertmanagerServer:
        command = [
            self.binary,
            f"--config.file={self.config_file}",
            f"--storage.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # one instance: no gossip port
            "--log.level=info",
        ]
        self.process = start_logged(command, self.log_file)
        wait_for_http(f"{self.url}/-/ready", self.process, self.log_file, timeout=60)
        return self

    def metric(self, name: str, **labels: str) -> float:
        """The sum of one metric's samples (with these labels) on Alertmanager's /metrics."""
        text = self.client.get("/metrics").text
        return sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == name and labels.items() <= sample.labels.items()
        )

    def log(self) -> str:
        return self.log_file.read_text(errors="replace") if self.log_file.exists() else ""

    def stop(self) -> None:
        self.client.close()
        if self.process is not None:
            stop(self.process)
