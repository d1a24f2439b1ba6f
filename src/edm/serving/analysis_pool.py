"""Analyses in worker processes, so that files analysed at once do not share one GIL.

``edm serve --analysis-processes N`` gives each loaded version N processes, each holding the
version's network; the request threads hand them the uploaded file's path and get the
:class:`~edm.inference.pipeline.Analysis` back. Decoding the structure is many small numpy
calls that hold the GIL, so threads of one process wait for each other: on this 2-core machine
two threads analysed 36 clips of 30 s a second, two processes 39 (and the event loop no longer
waits behind them).

A process that dies (killed, out of memory) fails only the requests it held, with a clear
error; the pool is then made again for the next request. Processes are spawned, not forked:
the service has threads, and a fork copies their locks in whatever state they are in.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from edm.errors import ModelError

_analyzer: Any = None  # in each worker process: its File2Structure


class AnalysisPool:
    """``analyze(path)`` and ``(path)`` as :class:`File2Structure` has them, in processes."""

    def __init__(self, checkpoint: Path, processes: int, threads: int, device: str) -> None:
        self._arguments = (str(checkpoint), threads, device)
        self._processes = processes
        self._lock = threading.Lock()
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self._processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_load,
            initargs=self._arguments,
        )

    def warm_up(self, path: Path) -> None:
        """Start every process and run ``path`` through each: the first analyses pay for
        imports and the model's load, not a user's request."""
        futures = [self._submit(str(path)) for _ in range(self._processes)]
        for future in futures:
            self._result(future)

    def analyze(self, path: Path | str, on_progress: Any = None) -> Any:
        return self._result(self._submit(str(path)))

    def __call__(self, path: Path | str) -> Any:
        return self.analyze(path).structure

    def close(self) -> None:
        """Let the analyses in flight finish, then stop the processes."""
        self._pool.shutdown(wait=True)

    def _submit(self, path: str) -> Future:
        pool = self._pool
        try:
            return pool.submit(_analyze, path)
        except BrokenProcessPool:
            return self._restart(pool).submit(_analyze, path)

    def _result(self, future: Future) -> Any:
        try:
            outcome, value = future.result()
        except BrokenProcessPool:
            self._restart(self._pool)
            raise ModelError(
                "the analysis process stopped (killed or out of memory) before answering"
            ) from None
        if outcome == "error":
            raise _rebuilt(*value)
        return value

    def _restart(self, broken: ProcessPoolExecutor) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._pool = self._start()
            return self._pool


def _load(checkpoint: str, threads: int, device: str) -> None:
    global _analyzer
    from edm.inference.network import set_inference_threads
    from edm.inference.pipeline import File2Structure

    set_inference_threads(threads)
    _analyzer = File2Structure.from_checkpoint(Path(checkpoint), device=device)


def _analyze(path: str) -> tuple[str, Any]:
    try:
        return "ok", _analyzer.analyze(path)
    except Exception as exc:  # sent back whole: the caller tells a bad file from a failure
        return "error", (type(exc), exc.args, vars(exc))


def _rebuilt(kind: type[BaseException], args: tuple[Any, ...], attributes: dict) -> BaseException:
    """The worker's exception, made again without calling its ``__init__`` (AudioError's
    takes a path and a problem, not the message its ``args`` hold)."""
    exc = kind.__new__(kind)
    exc.args = args
    exc.__dict__.update(attributes)
    return exc
