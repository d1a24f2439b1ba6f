"""The driver's mark in OUT: which MLflow run is writing there, from which process.

A driver killed outright (kill -9, an OOM kill) cannot end its run, which would stay RUNNING.
The next job on the same OUT reads the mark; when it names a process of this host that is gone,
that run is ended KILLED before the new one starts, so a resumed catalogue leaves no run
RUNNING behind. A mark of a live edm process means another job is writing OUT right now: two
drivers would analyse the same tracks twice, so the second one refuses to start. A mark from
another host cannot be checked from here and is left alone (``edm doctor`` lists such runs
once they have been quiet for hours).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from edm.atomic import write_text_atomically

MARK_NAME = ".edm-batch-driver.json"


@dataclass(frozen=True)
class DriverMark:
    run_id: str
    host: str
    pid: int
    # The process's start (boot id and clock ticks since boot, from /proc): a pid reused by
    # another process after the driver died has another. None in marks of older edm versions.
    started: str | None = None

    def alive(self) -> bool | None:
        """Whether the marking process still runs; None when it ran on another host."""
        if self.host != socket.gethostname():
            return None
        if self.pid == os.getpid():
            return False  # an earlier job of this same process, which did not clear its mark
        if self.started is not None:
            return process_start(self.pid) == self.started
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"edm" in cmdline


def process_start(pid: int) -> str | None:
    """``boot-id:start-ticks`` of a running process; None when it is gone (or no /proc)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return f"{boot}:{fields[19]}"  # field 22 of stat: the start time, in ticks since boot


def read_mark(out: Path) -> DriverMark | None:
    """The mark in ``out``; None when there is none or it is unreadable (a torn write)."""
    try:
        data = json.loads((out / MARK_NAME).read_text(encoding="utf-8"))
        started = data.get("started")
        return DriverMark(
            str(data["run_id"]),
            str(data["host"]),
            int(data["pid"]),
            str(started) if started is not None else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_mark(out: Path, run_id: str) -> None:
    mark = DriverMark(run_id, socket.gethostname(), os.getpid(), process_start(os.getpid()))
    write_text_atomically(out / MARK_NAME, json.dumps(asdict(mark)))


def clear_mark(out: Path, run_id: str) -> None:
    """Remove the mark if it is this run's (a later job's mark is not ours to remove)."""
    mark = read_mark(out)
    if mark is not None and mark.run_id == run_id:
        with contextlib.suppress(FileNotFoundError):
            (out / MARK_NAME).unlink()


@contextlib.contextmanager
def marked(out: Path, run_id: str) -> Iterator[None]:
    """Hold the mark while the job runs; an outright kill leaves it for the next job."""
    write_mark(out, run_id)
    try:
        yield
    finally:
        clear_mark(out, run_id)
