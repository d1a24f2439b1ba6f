"""A real Spark standalone cluster on loopback: one master and N workers started from the
installed PySpark (``spark-class …deploy.master.Master`` / ``…deploy.worker.Worker``), each in
its own process group so that one can be killed outright like a machine that dies.

Used by the cluster tests (tests/batch/test_cluster.py) and bench/batch_analyze.py.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def pyspark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class SparkStandalone:
    """``start()`` brings the master and workers up and waits until all are registered."""

    def __init__(
        self,
        root: Path,
        *,
        workers: int = 2,
        cores: int = 1,
        memory: str = "1g",
        path_prefix: Path | None = None,
    ) -> None:
        self.root = root
        self.workers = workers
        self.cores = cores
        self.memory = memory
        self.port = free_port()
        self.ui_port = free_port()
        self.url = f"spark://127.0.0.1:{self.port}"
        self._master: subprocess.Popen | None = None
        self._workers: list[subprocess.Popen | None] = [None] * workers
        # The workers' PATH (and so their executors' default `python3`): a folder put first
        # decides which Python an executor runs when the job names none.
        path = os.environ.get("PATH", "/usr/bin:/bin")
        env = dict(os.environ) | {"SPARK_HOME": str(pyspark_home())}
        env.pop("PYSPARK_PYTHON", None)
        if path_prefix is not None:
            env["PATH"] = f"{path_prefix}{os.pathsep}{path}"
        self.env = env

    def start(self) -> SparkStandalone:
        self.root.mkdir(parents=True, exist_ok=True)
        self._master = self._launch(
            "master",
            "org.apache.spark.deploy.master.Master",
            ["--host", "127.0.0.1", "--port", str(self.port), "--webui-port", str(self.ui_port)],
        )
        self._wait_ui(60)
        for index in range(self.workers):
            self._start_worker(index)
        self.wait_workers(self.workers, 90)
        return self

    def _launch(self, name: str, main_class: str, arguments: list[str]) -> subprocess.Popen:
        spark_class = pyspark_home() / "bin" / "spark-class"
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 (kept by the child)
        try:
            return subprocess.Popen(
                [str(spark_class), main_class, *arguments],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        finally:
            log.close()

    def _start_worker(self, index: int) -> None:
        work = self.root / f"worker-{index}"
        work.mkdir(exist_ok=True)
        arguments = [self.url, "--host", "127.0.0.1", "--cores", str(self.cores)]
        arguments += ["--memory", self.memory, "--work-dir", str(work)]
        arguments += ["--webui-port", str(free_port())]
        self._workers[index] = self._launch(
            f"worker-{index}", "org.apache.spark.deploy.worker.Worker", arguments
        )

    def alive_workers(self) -> int:
        url = f"http://127.0.0.1:{self.ui_port}/json/"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return int(json.load(answer).get("aliveworkers", 0))

    def wait_workers(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.alive_workers() >= count:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{count} Spark workers not registered in {timeout_s:.0f} s")
            time.sleep(0.5)

    def _wait_ui(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self.alive_workers()
                return
            except OSError:
                assert self._master is not None and self._master.poll() is None, (
                    self.root / "master.log"
                ).read_text()[-2000:]
                if time.monotonic() > deadline:
                    raise RuntimeError("the Spark master did not start") from None
                time.sleep(0.5)

    def pids(self) -> tuple[int, ...]:
        """The master's and the workers' processes (each the root of its own tree)."""
        return tuple(p.pid for p in [self._master, *self._workers] if p is not None)

    def kill_worker(self, index: int) -> None:
        """kill -9 the worker and everything it started (its executor, their Python workers)."""
        worker = self._workers[index]
        assert worker is not None
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        self._workers[index] = None

    def ensure_workers(self) -> None:
        """Start again the workers that were killed, and wait until all are registered."""
        for index, worker in enumerate(self._workers):
            if worker is None or worker.poll() is not None:
                self._start_worker(index)
        self.wait_workers(self.workers, 90)

    def stop(self) -> None:
        for process in [*self._workers, self._master]:
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self._workers, self._master]:
            if process is None:
                continue
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
