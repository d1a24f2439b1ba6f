"""Bounded connections: uvicorn's HTTP/1.1 protocol (h11) with a header timeout and a cap.

uvicorn closes a keep-alive connection idle between two requests after ``timeout_keep_alive``
(5 s), but a connection that never completes its first request's headers (opened and left
silent, or half a request line sent) is kept for ever: a few hundred of them hold as many file
descriptors, and enough of them exhaust the process's. So here:

- a connection must complete its first request's headers within ``--header-timeout``, or it
  is closed (the keep-alive timeout bounds the wait for every later request);
- a worker holds at most ``--max-connections``: one more closes the connection idle the
  longest (one waiting for its headers, or between two requests), so a fresh client such as a
  health probe is always answered; with every connection busy the new one is closed at once.

``edm serve`` raises the process's soft limit of open files to what the cap needs
(``needed_descriptors``). uvicorn runs this class by its import path; each worker reads the
settings from the service's config in the environment, as the app does.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

PROTOCOL = "edm.serving.connections:BoundedH11Protocol"
SPARE_DESCRIPTORS = 256  # the process's own files: the store, the model, logs, threads
ACCEPT_BURST = 2048  # uvicorn's backlog: asyncio accepts that many before it closes any


def needed_descriptors(max_connections: int) -> int:
    """Open files a worker needs for ``max_connections`` connections, a burst of new ones
    not yet closed, and its own files."""
    return max_connections + ACCEPT_BURST + SPARE_DESCRIPTORS


@functools.cache
def _limits() -> tuple[float, int]:
    from edm.serving.config import ServeConfig

    config = ServeConfig.from_environment()
    return config.header_timeout_s, config.max_connections


class BoundedH11Protocol(H11Protocol):
    """H11Protocol that closes connections whose first request does not come in time, and
    makes room for a new connection past the cap by closing the one idle the longest."""

    _header_timer: asyncio.TimerHandle | None = None
    _last_active: float = 0.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        header_timeout, max_connections = _limits()
        crowded = len(self.connections) >= max_connections
        super().connection_made(transport)
        self._last_active = time.monotonic()
        if crowded and not _make_room(self.connections, self):
            log.warning("%d connections, none idle: a new one closed", len(self.connections) - 1)
            transport.close()
            return
        self._header_timer = self.loop.call_later(header_timeout, self._headers_too_late)

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not None and self._header_timer is not None:
            self._header_timer.cancel()  # the request line and headers are in
            self._header_timer = None

    def on_response_complete(self) -> None:
        self._last_active = time.monotonic()
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)

    def idle(self) -> bool:
        """Waiting for a request: none yet, or the last one answered."""
        if self.transport.is_closing():
            return False
        return self.cycle is None or self.cycle.response_complete

    def _headers_too_late(self) -> None:
        self._header_timer = None
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()


def _make_room(connections: set[Any], new: BoundedH11Protocol) -> bool:
    """Close the connection idle the longest (not ``new``); False when none is idle."""
    idle = [
        c for c in connections if c is not new and isinstance(c, BoundedH11Protocol) and c.idle()
    ]
    if not idle:
        return False
    oldest = min(idle, key=lambda c: c._last_active)
    oldest.transport.close()
    return True
