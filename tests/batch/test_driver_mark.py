"""The driver's mark in OUT tells a live driver from a dead one, and from an unrelated
process that got its pid since (issue 28, point 12)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from edm.batch.driver_mark import MARK_NAME, DriverMark, process_start, read_mark, write_mark


def test_a_reused_pid_is_not_the_old_driver(tmp_path: Path) -> None:
    # A live process with "edm" on its command line: what the old check took for the driver.
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "edm"])
    try:
        host = socket.gethostname()
        started = process_start(other.pid)
        assert started is not None
        assert DriverMark("r", host, other.pid, started).alive() is True
        # The same pid, but the mark was written by a process that started at another time.
        assert DriverMark("r", host, other.pid, started + "0").alive() is False
        # A mark of an older edm (no start time) falls back to the command line.
        assert DriverMark("r", host, other.pid).alive() is True
    finally:
        other.kill()
        other.wait(timeout=30)
    assert DriverMark("r", socket.gethostname(), other.pid, started).alive() is False
    assert DriverMark("r", "another-host", other.pid, started).alive() is None


def test_the_mark_records_the_process_start(tmp_path: Path) -> None:
    write_mark(tmp_path, "run-1")
    data = json.loads((tmp_path / MARK_NAME).read_text())
    assert data["pid"] == os.getpid() and data["started"] == process_start(os.getpid())
    mark = read_mark(tmp_path)
    assert mark is not None and mark.started == data["started"]
