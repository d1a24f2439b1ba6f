"""Per-client limits: requests per minute (a token bucket) and predictions in progress.

One client's flood then costs that client a 429 with ``Retry-After``, not everyone a 503.
The limits are per worker process (each worker keeps its own counts), so with
``--workers N`` a client gets up to N times the rate; the README says so. The table of
clients is bounded: the least recently seen are forgotten first, so clients that make up
new identities cannot grow it without end.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

MAX_TRACKED_CLIENTS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float
    in_progress: int = 0


class LimitExceeded(Exception):
    """The client is over a limit: answer 429 with ``Retry-After: retry_after_s``."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ClientLimits:
    """``per_minute`` requests per client (0: no rate limit), at most ``concurrency``
    predictions in progress per client (0: no limit)."""

    def __init__(
        self,
        per_minute: float = 0.0,
        concurrency: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.concurrency = concurrency
        self.clock = clock
        self._clients: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        """Count one request of ``client``; LimitExceeded when it is over its rate."""
        if not self.per_minute:
            return
        with self._lock:
            bucket = self._bucket(client)
            now = self.clock()
            refill = (now - bucket.updated) * self.per_minute / 60.0
            bucket.tokens = min(self.per_minute, bucket.tokens + refill)
            bucket.updated = now
            if bucket.tokens < 1.0:
                wait = (1.0 - bucket.tokens) * 60.0 / self.per_minute
                raise LimitExceeded(
                    f"rate limit: client '{client}' is over {self.per_minute:g} requests per "
                    "minute (--rate-limit)",
                    max(1, math.ceil(wait)),
                )
            bucket.tokens -= 1.0

    @contextmanager
    def in_progress(self, client: str) -> Iterator[None]:
        """Hold one of ``client``'s prediction slots; LimitExceeded when none is free."""
        if not self.concurrency:
            yield
            return
        with self._lock:
            bucket = self._bucket(client)
            if bucket.in_progress >= self.concurrency:
                raise LimitExceeded(
                    f"client '{client}' already has {self.concurrency} prediction(s) in "
                    "progress (--client-concurrency)",
                    1,
                )
            bucket.in_progress += 1
        try:
            yield
        finally:
            with self._lock:
                bucket.in_progress -= 1

    def _bucket(self, client: str) -> _Bucket:
        bucket = self._clients.get(client)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.per_minute), updated=self.clock())
            self._clients[client] = bucket
            self._forget_the_least_recent()
        self._clients.move_to_end(client)
        return bucket

    def _forget_the_least_recent(self) -> None:
        while len(self._clients) > MAX_TRACKED_CLIENTS:
            name, bucket = next(iter(self._clients.items()))
            if bucket.in_progress:  # still counted: keep it, it will be released
                self._clients.move_to_end(name)
                break
            del self._clients[name]
