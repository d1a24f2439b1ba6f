"""Work done after an answer went out, off the request path: a bounded queue and one thread.

Shadow traffic (Staging) and the rollback comparison (the previous version) both analyse a
file Production already answered. Neither may slow Production, so work that does not fit in
the queue is dropped (the caller counts it) and its file removed; every job owns one
temporary file, removed once the job is done, dropped, or left undone at shutdown.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

Job = TypeVar("Job")


class ReplayQueue(Generic[Job]):
    def __init__(
        self,
        name: str,
        handle: Callable[[Job], None],
        file_of: Callable[[Job], Path],
        on_dropped: Callable[[], None],
        *,
        queue_size: int,
    ) -> None:
        self.name = name
        self._handle, self._file_of, self._on_dropped = handle, file_of, on_dropped
        self._queue: queue.Queue[Job | None] = queue.Queue(maxsize=queue_size)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish the job in hand, then remove the files of the jobs nobody will do."""
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._file_of(job).unlink(missing_ok=True)

    def submit(self, job: Job) -> bool:
        """Queue ``job`` (it takes its file over); False, the file removed, when full."""
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self._file_of(job).unlink(missing_ok=True)
            self._on_dropped()
            return False
        return True

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is None or self._stop.is_set():
                if job is not None:
                    self._file_of(job).unlink(missing_ok=True)
                return
            try:
                self._handle(job)
            except Exception:  # one bad job must not end the thread that serves the rest
                log.exception("%s: a replay failed", self.name)
            finally:
                self._file_of(job).unlink(missing_ok=True)
