"""The stages of a /predict request, each bounded, and the drain on SIGTERM.

A request goes through three stages, and only the last holds an analysis slot:

1. *Receiving* its body: at most ``--max-receiving`` bodies at once per worker (503 above),
   each within ``--body-timeout`` seconds from its first read (408 after, whether the client
   is slow or stalled: a byte a second never runs the clock out otherwise).
2. *Checking* it: size (413), type (415), decodable audio and its length (422, 413). No slot.
3. *Analysing* it: one of ``--max-concurrency`` slots (503 when none is free), answered
   within ``--analysis-timeout`` seconds (504 after). The slot is freed in every case. A
   thread cannot be stopped from outside: an analysis answered 504 runs on in its thread until
   it returns, counted in ``edm_analyses_overrunning``; ``/ready`` turns 503 when every
   analysis thread is held so.

So clients that send slowly, or never finish, cost connections and receiving places, never
the slots honest requests need. On SIGTERM (or SIGINT) ``/ready`` answers 503 at once, uvicorn
stops accepting and lets the requests in flight finish for up to ``--drain-seconds``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

DRAIN_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Stages:
    """Per worker: bodies being received, analyses past their timeout, and the drain flag."""

    def __init__(self) -> None:
        self.receiving = 0  # changed on the event loop only
        self.draining = False  # set by the signal handler, read by /ready
        self._overrunning = 0  # changed from analysis threads too
        self._lock = threading.Lock()

    def drain(self) -> None:
        """The service was told to stop: /ready says so from now on."""
        self.draining = True

    @property
    def overrunning(self) -> int:
        with self._lock:
            return self._overrunning

    def overran(self, future: Future, gauge: Any) -> bool:
        """``future`` passed its timeout: cancel it if it has not started, else count it as
        overrunning until it returns. True when it still runs."""
        if future.cancel() or future.done():
            return False
        with self._lock:
            self._overrunning += 1
        gauge.inc()

        def returned(_: Future) -> None:
            with self._lock:
                self._overrunning -= 1
            gauge.dec()

        future.add_done_callback(returned)  # at once if it finished in between
        return True


def on_drain_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` first when SIGTERM or SIGINT arrives, then the handler installed
    now (uvicorn's, which starts the graceful shutdown). Returns what puts the handlers back.

    Does nothing off the main thread (signals are handled there only) or where no Python
    handler is installed (nothing would shut down: not a server).
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    installed: dict[int, tuple[Any, Any]] = {}
    for sig in DRAIN_SIGNALS:
        handler = signal.getsignal(sig)
        if not callable(handler):
            continue

        def first_the_callback(signum: int, frame: Any, handler: Any = handler) -> None:
            callback()
            handler(signum, frame)

        signal.signal(sig, first_the_callback)
        installed[sig] = (handler, first_the_callback)

    def restore() -> None:
        for sig, (handler, ours) in installed.items():
            if signal.getsignal(sig) is ours:
                signal.signal(sig, handler)

    return restore
