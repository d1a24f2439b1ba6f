"""Ctrl-C and SIGTERM end a command the same way: cleanly, with one line.

SIGTERM is what ``timeout``, systemd, ``docker stop`` and Kubernetes send. Python's default
for it is to die on the spot, which leaves a training run RUNNING in the store forever. The
entry point turns it into a KeyboardInterrupt in the main thread, so the same clean-up runs
as for Ctrl-C (a training run ends KILLED, its last checkpoint kept; a lock is released). A
second SIGTERM while that clean-up runs is ignored; a second Ctrl-C interrupts it.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any

_state: dict[str, str | bool | None] = {"received": None, "announced": False}


def install() -> dict[int, Any]:
    """Route SIGINT and SIGTERM through :func:`_on_signal` (main thread only); returns the
    handlers they had, for :func:`restore`."""
    _state["received"] = None
    _state["announced"] = False
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    return previous


def restore(previous: dict[int, Any]) -> None:
    """Put back the handlers :func:`install` replaced (a process that goes on, like a test)."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if signum == signal.SIGTERM and _state["received"] is not None:
        return  # already stopping: let the clean-up finish
    _state["received"] = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    raise KeyboardInterrupt


def received() -> str:
    """What interrupted the command: 'Ctrl-C', 'SIGTERM', or 'an interrupt'."""
    return str(_state["received"] or "an interrupt")


def was_interrupted() -> bool:
    return _state["received"] is not None


def announce() -> None:
    """A command printed its own line about the interrupt: the entry point adds none."""
    _state["announced"] = True


def announced() -> bool:
    return bool(_state["announced"])
