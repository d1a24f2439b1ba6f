"""Spark's failures as one line that says what to do; the whole error goes to a log file.

A Py4J error carries the JVM's stack (hundreds of lines) and a task's Python traceback inside
it. The user gets the first thing to check; the log under OUT keeps everything for whoever
has to dig.
"""

from __future__ import annotations

import contextlib
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from edm.errors import ClusterError, EdmError

ENVIRONMENT_HINT = (
    "install edm there and name that Python with --python PATH, or ship a packed "
    "environment with --python-env ENV.tar.gz (README: On a cluster)"
)

# (what the error text contains, what to tell the user): the first match wins.
_ADVICE = (
    ("No module named 'edm'", "the executors' Python cannot import edm: " + ENVIRONMENT_HINT),
    (
        "PYTHON_VERSION_MISMATCH",
        "the executors' Python is another minor version than this driver's: " + ENVIRONMENT_HINT,
    ),
    (
        "Cannot run program",
        "the executors cannot start their Python ({python}): " + ENVIRONMENT_HINT,
    ),
    (
        "All masters are unresponsive",
        "cannot reach the Spark master {master}: check --master and that the master runs",
    ),
    (
        "Failed to connect to master",
        "cannot reach the Spark master {master}: check --master and that the master runs",
    ),
    (
        "JAVA_GATEWAY_EXITED",
        "Spark's JVM did not start: check Java 17+ (java on PATH or JAVA_HOME) and --conf",
    ),
    (
        "Cannot assign requested address",
        "the driver cannot listen on its address: give an address of this host that the "
        "executors can reach with --driver-host",
    ),
    (
        "BindException",
        "the driver cannot listen on its address: give an address of this host that the "
        "executors can reach with --driver-host",
    ),
    (
        "OutOfMemoryError",
        "an executor ran out of memory: give it more with --conf spark.executor.memory=4g",
    ),
)


class SparkFailures:
    """Turns what Spark raises into a ClusterError, writing the whole of it to ``log_file``."""

    def __init__(self, log_file: Path, master: str, python: str | None = None) -> None:
        self.log_file = log_file
        self.master = master
        self.python = python or "python3"

    @contextlib.contextmanager
    def around(self, what: str) -> Iterator[None]:
        """Errors of Spark inside become one line; edm's own and Ctrl-C pass unchanged."""
        try:
            yield
        except EdmError:
            raise
        except Exception as exc:
            raise self.explain(exc, what) from exc

    def explain(self, exc: BaseException, what: str) -> ClusterError:
        self.record(exc, what)
        return ClusterError(f"{what}: {self.advice(str(exc))} (whole error in {self.log_file})")

    def advice(self, text: str) -> str:
        for needle, message in _ADVICE:
            if needle in text:
                return message.format(master=self.master, python=self.python)
        return f"Spark failed: {gist(text)}"

    def record(self, exc: BaseException, what: str) -> None:
        """Append the error with its JVM stack to the log file (best effort: never masks it)."""
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        text = "".join(traceback.format_exception(exc))
        with contextlib.suppress(OSError):
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            with open(self.log_file, "a", encoding="utf-8") as log:
                log.write(f"{stamp} edm batch: {what}\n{text}\n")


def gist(text: str) -> str:
    """The first line of an error that names an exception, cut to 300 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if "Exception:" in line or "Error:" in line:
            return line[:300]
    return (lines[0] if lines else "no message")[:300]
