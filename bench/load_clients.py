"""The honest clients of ``bench/serve_load.py``: ``concurrency`` clients that post the clips
one after another for ``seconds``, on kept-alive connections; latency of each answer, failures
by kind."""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field

import httpx


@dataclass
class Load:
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    first_version_at: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    def fail(self, what: str) -> None:
        self.failures += 1
        self.errors[what] = self.errors.get(what, 0) + 1

    def summary(self) -> dict[str, float]:
        ok = sorted(self.latencies)
        return {
            "requests_per_s": len(ok) / self.seconds if self.seconds else 0.0,
            "p50_s": statistics.median(ok) if ok else float("nan"),
            "p99_s": ok[min(len(ok) - 1, int(0.99 * len(ok)))] if ok else float("nan"),
            "ok": len(ok),
            "failed": self.failures,
        }


async def run_load(
    url: str, bodies: list[tuple[bytes, dict[str, str]]], concurrency: int, seconds: float,
    on_tick: object = None,
) -> Load:  # fmt: skip
    load = Load()
    started = time.perf_counter()
    deadline = started + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client(index: int, http: httpx.AsyncClient) -> None:
        turn = index
        while time.perf_counter() < deadline:
            body, headers = bodies[turn % len(bodies)]
            turn += 1
            sent = time.perf_counter()
            try:
                response = await http.post(url, content=body, headers=headers)
            except httpx.HTTPError as exc:
                load.fail(type(exc).__name__)
                await asyncio.sleep(0.05)  # a refused connection fails at once: do not spin
                continue
            if response.status_code != 200:
                load.fail(f"HTTP {response.status_code}")
                continue
            load.latencies.append(time.perf_counter() - sent)
            version = response.headers.get("X-EDM-Model-Version", "")
            load.first_version_at.setdefault(version, time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=120, limits=limits) as http:
        await asyncio.gather(*(client(i, http) for i in range(concurrency)))
    load.seconds = time.perf_counter() - started
    return load
