"""Slow senders for ``bench/serve_load.py``: clients that declare a 1 MB body and send it a byte
a second (a slowloris on the body), beside the honest clients.

Loopback only (127.0.0.1), a fixed number of them, and they stop when the run does. A sender
the service cuts off (408 after ``--body-timeout``) connects again at once, so ``count`` of
them are always there.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from bench.load_clients import run_load

T = TypeVar("T")
DECLARED = 1024 * 1024


@dataclass
class SlowStats:
    connections: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    bytes_sent: int = 0


async def _slow_sender(port: int, stop: asyncio.Event, stats: SlowStats) -> None:
    head = (
        f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: audio/wav\r\n"
        f"Content-Length: {DECLARED}\r\n\r\nRIFF"
    ).encode()
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.5)
            continue
        stats.connections += 1
        try:
            writer.write(head)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    line = await asyncio.wait_for(reader.readline(), 1.0)
                    status = line.split()[1].decode() if len(line.split()) > 1 else "closed"
                    stats.answers[status] = stats.answers.get(status, 0) + 1
                    break
                writer.write(b"\0")
                await writer.drain()
                stats.bytes_sent += 1
        except OSError:
            stats.answers["reset"] = stats.answers.get("reset", 0) + 1
        finally:
            writer.close()


async def alongside(port: int, count: int, work: Awaitable[T]) -> tuple[T, SlowStats]:
    """Run ``work`` with ``count`` slow senders on ``port`` the whole time."""
    stop, stats = asyncio.Event(), SlowStats()
    senders = [asyncio.create_task(_slow_sender(port, stop, stats)) for _ in range(count)]
    await asyncio.sleep(1.0)  # all of them connected and sending before the honest clients
    try:
        result = await work
    finally:
        stop.set()
        await asyncio.gather(*senders, return_exceptions=True)
    return result, stats


def honest_with_and_without(server: Any, bodies: list, args: argparse.Namespace) -> dict:
    """The honest clients without, then with, the slow senders, on one ``edm serve``."""
    server.start("/ready")
    url, port = server.url + "/predict", int(server.url.rsplit(":", 1)[1])
    httpx.post(url, content=bodies[0][0], headers=bodies[0][1], timeout=120)
    without = asyncio.run(run_load(url, bodies, args.concurrency, args.seconds))
    honest = run_load(url, bodies, args.concurrency, args.seconds)
    with_slow, stats = asyncio.run(alongside(port, args.slow_senders, honest))
    server.stop()
    return {"without": without.summary(), "with": with_slow.summary(), "stats": stats}


def report(slow: dict, args: argparse.Namespace) -> None:
    without, with_slow, stats, count = (
        slow["without"],
        slow["with"],
        slow["stats"],
        args.slow_senders,
    )
    print(
        f"\nSlow senders: {args.concurrency} honest clients for {args.seconds:g} s, without and "
        f"then with {count} clients sending a 1 MB body at a byte a second (edm serve, 1 worker)"
    )
    print(f"{'':<24}{'req/s':>8}{'p50 s':>8}{'p99 s':>8}{'failed':>8}")
    for name, row in (("without slow senders", without), (f"with {count}", with_slow)):
        print(
            f"{name:<24}{row['requests_per_s']:>8.2f}{row['p50_s']:>8.3f}{row['p99_s']:>8.3f}"
            f"{row['failed']:>8d}"
        )
    print(
        f"ratio with/without: {with_slow['requests_per_s'] / without['requests_per_s']:.2f}x "
        f"req/s, p99 {with_slow['p99_s'] / without['p99_s']:.2f}x; the slow senders made "
        f"{stats.connections} connections, sent {stats.bytes_sent} bytes, got {stats.answers}"
    )
