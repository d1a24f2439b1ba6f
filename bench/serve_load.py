"""``edm serve`` against ``mlflow models serve`` on the same registered version, under load.

One run, one local store (SQLite) in a temporary folder, two versions of a default-size CNN
(untrained: speed is what is measured). The same 30 s clips go to both servers from 8
concurrent clients for ``--seconds``; each server runs one worker and is started from the
registry alias ``production``. Reported per server: requests per second, p50/p99 latency,
failed requests, peak memory (RSS of the server's whole process group). The ratios are edm
over MLflow (the baseline). edm serve analyses one file per core at once, each on one torch
thread (the other requests wait their turn); MLflow leaves torch's default, so it is also
measured with ``OMP_NUM_THREADS=1``.

Then a promotion during load: the ``production`` alias moves to the second version.
``edm serve`` follows it without a restart (failed requests, seconds until the new version
answers). ``mlflow models serve`` resolves the alias once at start, so it is restarted:
failed requests, seconds it refuses connections, seconds until it answers again.

Last, slow senders: the honest clients against ``edm serve`` without, then with
``--slow-senders`` clients (16) that send a 1 MB body a byte a second (``slow_senders.py``);
their req/s and p99 both ways (``--only-slow-senders`` runs this part alone).

    python bench/serve_load.py [--seconds 30] [--concurrency 8] [--clips 4] [--model best.pt]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import slow_senders
from bench.load_clients import Load, run_load

MODEL = "edm-structure-detector"
SAMPLE_RATE = 22050


def write_clips(folder: Path, count: int, seconds: float = 30.0) -> list[Path]:
    """Four-on-the-floor clicks at different tempos: real WAV files of ``seconds``."""
    rng = np.random.default_rng(0)
    clips = []
    for index in range(count):
        bpm = 120.0 + 6.0 * index
        samples = 0.01 * rng.standard_normal(int(seconds * SAMPLE_RATE))
        t = np.arange(int(0.05 * SAMPLE_RATE)) / SAMPLE_RATE
        click = np.sin(2 * np.pi * 1200 * t) * np.exp(-t / 0.01)
        for beat in np.arange(0.3, seconds - 0.1, 60.0 / bpm):
            start = int(beat * SAMPLE_RATE)
            samples[start : start + click.size] += click[: samples.size - start]
        path = folder / f"clip-{index}.wav"
        sf.write(path, (0.5 * samples / np.abs(samples).max()).astype(np.float32), SAMPLE_RATE)
        clips.append(path)
    return clips


def register_versions(store: str, checkpoint: Path | None, folder: Path) -> tuple[int, int]:
    import torch

    from edm.audio.features import FeatureParams
    from edm.models import MultiTaskModel, save_checkpoint
    from edm.registry import ModelRegistry

    registry = ModelRegistry(tracking_uri=store, promotion_gate=None)
    versions = []
    for seed in (0, 1):
        path = checkpoint
        if path is None:
            torch.manual_seed(seed)
            (folder / f"seed{seed}").mkdir()
            path = save_checkpoint(
                folder / f"seed{seed}" / "best.pt",
                MultiTaskModel("cnn"),
                feature_params=FeatureParams().to_dict(),
            )
        registry.log_model(path, f"bench-{seed}", {"backbone": "cnn"}, {"best_val_loss": 1.0})
        versions.append(max(r.version for r in registry.version_records(100)))
    registry.promote_model(versions[0], "Production")
    return versions[0], versions[1]


def promote(store: str, version: int) -> None:
    from edm.registry import ModelRegistry

    ModelRegistry(tracking_uri=store, promotion_gate=None).promote_model(version, "Production")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    command: list[str]
    env: dict[str, str]
    url: str
    log: Path
    process: subprocess.Popen | None = None
    peak_rss: int = 0
    _watch: threading.Event = field(default_factory=threading.Event)

    def start(self, ready_path: str, timeout: float = 180.0) -> float:
        """Start it; seconds until ``ready_path`` answers 200."""
        started = time.perf_counter()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self._watch = threading.Event()
        threading.Thread(target=self._sample_memory, daemon=True).start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + ready_path, timeout=2).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready in {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._watch.set()

    def _sample_memory(self) -> None:
        while not self._watch.wait(0.2):
            if self.process is None or self.process.poll() is not None:
                return
            self.peak_rss = max(self.peak_rss, _session_rss(self.process.pid))


def _session_rss(session: int) -> int:
    """Resident bytes of every process in a session (the server and its workers)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) != session:  # fields after the name: state, ppid, pgrp, session
                continue
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except (OSError, IndexError, ValueError):
            continue
    return total


def edm_bodies(clips: list[Path]) -> list[tuple[bytes, dict[str, str]]]:
    return [(clip.read_bytes(), {"Content-Type": "audio/wav"}) for clip in clips]


def mlflow_bodies(clips: list[Path]) -> list[tuple[bytes, dict[str, str]]]:
    def body(clip: Path) -> bytes:
        audio = base64.b64encode(clip.read_bytes()).decode()
        return json.dumps({"dataframe_split": {"columns": ["audio"], "data": [[audio]]}}).encode()

    return [(body(clip), {"Content-Type": "application/json"}) for clip in clips]


def steady_load(server: Server, ready: str, path: str, bodies: list, args: argparse.Namespace):
    start_seconds = server.start(ready)
    httpx.post(server.url + path, content=bodies[0][0], headers=bodies[0][1], timeout=120)
    load = asyncio.run(run_load(server.url + path, bodies, args.concurrency, args.seconds))
    server.stop()
    return load.summary() | {"start_s": start_seconds, "peak_rss_mb": server.peak_rss / 2**20}


def promotion_under_load(
    server: Server, ready: str, path: str, bodies: list, args: argparse.Namespace, store: str,
    new_version: int, restart: bool,
) -> dict[str, float]:  # fmt: skip
    server.start(ready)
    result: dict[str, Load] = {}

    def load_in_background() -> None:
        url, seconds = server.url + path, args.promotion_seconds
        result["load"] = asyncio.run(run_load(url, bodies, args.concurrency, seconds))

    loader = threading.Thread(target=load_in_background)
    began = time.perf_counter()
    loader.start()
    time.sleep(args.promotion_seconds / 4)
    promote(store, new_version)
    promoted = time.perf_counter() - began
    refused = float("nan")
    if restart:  # MLflow resolves the alias once at start: the only way to follow is a restart
        stopped = time.perf_counter()
        server.stop()
        server.start(ready)
        refused = time.perf_counter() - stopped
        answering = time.perf_counter() - began
    loader.join()
    load = result["load"]
    server.stop()
    if not restart:
        answering = load.first_version_at.get(str(new_version), float("nan"))
    return {
        "failed": load.failures,
        "ok": len(load.latencies),
        "seconds_to_new_version": answering - promoted,
        "seconds_refusing": refused,
        "errors": load.errors,  # type: ignore[dict-item]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="steady load per server")
    parser.add_argument("--promotion-seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--clips", type=int, default=4)
    parser.add_argument("--model", type=Path, default=None, help="a .pt checkpoint to serve")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--edm-option", action="append", default=[], help="extra edm serve option (repeatable)"
    )
    parser.add_argument("--slow-senders", type=int, default=16, help="beside the honest clients")
    parser.add_argument("--only-slow-senders", action="store_true", help="skip MLflow, promotion")
    args = parser.parse_args()

    from edm.settings import mlflow_environment_defaults

    for name, value in mlflow_environment_defaults().items():
        os.environ.setdefault(name, value)
    with tempfile.TemporaryDirectory(prefix="edm-bench-serve-") as tmp:
        folder = Path(tmp)
        store = str(folder / "mlruns")
        clips = write_clips(folder, args.clips)
        first, second = register_versions(store, args.model, folder)
        bin_dir = str(Path(sys.executable).parent)
        env = os.environ | {
            "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}",
            "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),  # mlflow execs uvicorn
        }
        env.pop("EDM_WEBHOOK_SECRET", None)

        def edm_server() -> Server:
            port = free_port()
            command = [
                sys.executable, "-m", "edm", "--tracking-uri", store, "serve", "--port", str(port),
                "--max-concurrency", str(args.concurrency), "--poll-interval", "1",
                *args.edm_option,
            ]  # fmt: skip
            return Server("edm serve", command, env, f"http://127.0.0.1:{port}", folder / "edm.log")

        def mlflow_server(threads: int | None = None) -> Server:
            port = free_port()
            server_env = env | ({"OMP_NUM_THREADS": str(threads)} if threads else {})
            command = [
                sys.executable, "-m", "mlflow", "models", "serve",
                "-m", f"models:/{MODEL}@production", "--env-manager", "local",
                "-h", "127.0.0.1", "-p", str(port), "-w", "1",
            ]  # fmt: skip
            return Server("mlflow models serve", command, server_env, f"http://127.0.0.1:{port}",
                          folder / "mlflow.log")  # fmt: skip

        edm_in, mlflow_in = edm_bodies(clips), mlflow_bodies(clips)
        slow = slow_senders.honest_with_and_without(edm_server(), edm_in, args)
        if args.only_slow_senders:
            slow_senders.report(slow, args)
            return
        steady = {  # MLflow also with one torch thread, as edm serve runs each file
            "mlflow": steady_load(mlflow_server(), "/ping", "/invocations", mlflow_in, args),
            "mlflow_1t": steady_load(mlflow_server(1), "/ping", "/invocations", mlflow_in, args),
            "edm": steady_load(edm_server(), "/ready", "/predict", edm_in, args),
        }
        promotion = {
            "edm": promotion_under_load(
                edm_server(), "/ready", "/predict", edm_in, args, store, second, restart=False
            ),
        }
        promote(store, first)
        promotion["mlflow"] = promotion_under_load(
            mlflow_server(), "/ping", "/invocations", mlflow_in, args, store, second, restart=True
        )
    report(steady, promotion, args)
    slow_senders.report(slow, args)


def report(steady: dict, promotion: dict, args: argparse.Namespace) -> None:
    print(
        f"Steady load: {args.clips} clips of 30 s, concurrency {args.concurrency}, "
        f"{args.seconds:g} s per server, one worker each"
    )
    print(f"{'server':<22}{'req/s':>8}{'p50 s':>8}{'p99 s':>8}{'failed':>8}{'peak MB':>9}")
    rows = [("mlflow", "mlflow models serve"), ("mlflow_1t", "  same, 1 torch thread")]
    for key, name in rows + [("edm", "edm serve")]:
        row = steady[key]
        print(
            f"{name:<22}{row['requests_per_s']:>8.2f}{row['p50_s']:>8.3f}{row['p99_s']:>8.3f}"
            f"{row['failed']:>8d}{row['peak_rss_mb']:>9.0f}"
        )
    m, e = steady["mlflow"], steady["edm"]
    print(
        f"ratio edm/mlflow: {e['requests_per_s'] / m['requests_per_s']:.2f}x req/s, "
        f"p99 {e['p99_s'] / m['p99_s']:.2f}x, p50 {e['p50_s'] / m['p50_s']:.2f}x, "
        f"peak memory {e['peak_rss_mb'] / m['peak_rss_mb']:.2f}x"
    )
    t = steady["mlflow_1t"]
    print(
        f"ratio edm/mlflow (1 torch thread): {e['requests_per_s'] / t['requests_per_s']:.2f}x "
        f"req/s, p99 {e['p99_s'] / t['p99_s']:.2f}x"
    )
    print(f"\nPromotion during {args.promotion_seconds:g} s of load (a refused client retries")
    print("every 50 ms, so each refusal counts as a failed request):")
    for key, name in (("edm", "edm serve"), ("mlflow", "mlflow models serve, restarted")):
        row = promotion[key]
        refusing = "" if row["seconds_refusing"] != row["seconds_refusing"] else (
            f", refused connections for {row['seconds_refusing']:.1f} s"
        )  # fmt: skip
        print(
            f"  {name}: {row['failed']} failed of {row['failed'] + row['ok']}, new version "
            f"answering {row['seconds_to_new_version']:.1f} s after the promotion{refusing}"
            + (f" ({row['errors']})" if row["errors"] else "")
        )
    if args.json:
        args.json.write_text(json.dumps({"steady": steady, "promotion": promotion}, indent=2))


if __name__ == "__main__":
    main()
