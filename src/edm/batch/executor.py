"""What runs inside Spark's Python workers: read, hash, and analyse each track with the
version's MLflow python-function model, the same pyfunc that answers ``edm serve``'s
``/predict`` and ``mlflow models serve`` (see ``edm.inference.pyfunc``).

Spark hands each task a batch of paths (``mapInArrow``). One row at a time goes through
``PyFuncModel.predict`` so that a bad file becomes an error row and the others go on; a batch
predict would fail every track of the task for one bad file. The model is loaded once per
Python worker and kept while Spark reuses the worker.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from edm.batch.files import read_content
from edm.batch.shipping import model_folder

# What each task gives back to the driver, flat; the driver turns ``result`` (the pyfunc's
# structure dict as JSON) into the typed Parquet columns (edm.batch.results).
TASK_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("content_hash", pa.string()),
        ("size_bytes", pa.int64()),
        ("status", pa.string()),  # ok, error, skipped
        ("error", pa.string()),
        ("result", pa.string()),
        ("seconds", pa.float64()),
    ]
)
TASK_DDL = (
    "path string, content_hash string, size_bytes long, status string, error string, "
    "result string, seconds double"
)
_FALLBACK_MAX_BYTES = 200 * 2**20
_loaded: dict[str, Any] = {}


def analyse_batches(
    batches: Iterator[pa.RecordBatch],
    *,
    tracks: list[tuple[str, str | None]],
    model_location: str,
    threads: int = 1,
    shared_paths: tuple[str, ...] = (),
    bpm_range: tuple[float | None, float | None] = (None, None),
) -> Iterator[pa.RecordBatch]:
    """The mapInArrow function over ``spark.range``: row ``id`` is ``tracks[id]``, a path and
    the content hash of its earlier result that counts as done (None: none). A file whose
    content still has that hash is skipped without loading or running the model.

    The chunk's few paths travel inside the function rather than as a DataFrame made from
    Python rows, which Spark would convert in a second Python worker per task.
    """
    model = _LazyModel(model_location, threads, bpm_range)
    unmounted = _unmounted(shared_paths)
    for batch in batches:
        indices = batch.column("id").to_pylist()
        if unmounted:
            rows = [_timed(_failed(tracks[i][0], unmounted), time.perf_counter()) for i in indices]
        else:
            rows = [analyse_one(model, *tracks[index]) for index in indices]
        yield pa.RecordBatch.from_pylist(rows, schema=TASK_SCHEMA)


def _unmounted(shared_paths: tuple[str, ...]) -> str | None:
    """A shared folder missing on this executor (a worker that lost its mount mid-job): its
    tracks become error rows that say so, and a later run retries them."""
    import os
    import socket

    for path in shared_paths:
        if not os.path.isdir(path):
            host = socket.gethostname()
            return f"--shared-path {path} is not a folder on the executor host {host}"
    return None


def _failed(path: str, problem: str) -> dict[str, Any]:
    return {"path": path, "status": "error", "content_hash": None, "error": problem}


def analyse_one(model: _LazyModel, path: str, done_hash: str | None) -> dict[str, Any]:
    started = time.perf_counter()
    row: dict[str, Any] = {"path": path, "status": "error", "content_hash": None}
    try:
        if done_hash is not None:
            # A streamed hash first: a re-run over a done catalogue never loads the model.
            content = read_content(path, max_bytes=-1)
            if content.content_hash == done_hash:
                row.update(
                    status="skipped",
                    content_hash=content.content_hash,
                    size_bytes=content.size_bytes,
                )
                return _timed(row, started)
        content = read_content(path, model.max_bytes)
    except OSError as exc:
        row["error"] = _os_problem(exc)
        return _timed(row, started)
    row.update(content_hash=content.content_hash, size_bytes=content.size_bytes)
    if content.data is None:
        row["error"] = (
            f"the audio is {content.size_bytes / 2**20:.1f} MB, over the limit of "
            f"{model.max_bytes / 2**20:.0f} MB"
        )
        return _timed(row, started)
    try:
        import pandas as pd

        result = model.pyfunc.predict(pd.DataFrame({"audio": [content.data]}))
        structure = result[0] if isinstance(result, list) else result
        row.update(status="ok", result=json.dumps(structure, allow_nan=False))
    except Exception as exc:  # any failure of one track must not stop the others
        row["error"] = _problem(exc)
    return _timed(row, started)


class _LazyModel:
    """The pyfunc and its size bound (the model's own ``max_audio_mb``), loaded on first use."""

    def __init__(
        self,
        location: str,
        threads: int,
        bpm_range: tuple[float | None, float | None] = (None, None),
    ) -> None:
        self.location = location
        self.threads = threads
        self.bpm_range = bpm_range

    @property
    def pyfunc(self) -> Any:
        return _model(self.location, self.threads, self.bpm_range)

    @property
    def max_bytes(self) -> int:
        python_model = self.pyfunc.unwrap_python_model()
        return int(getattr(python_model, "max_audio_bytes", _FALLBACK_MAX_BYTES))


def _model(
    location: str, threads: int, bpm_range: tuple[float | None, float | None] = (None, None)
) -> Any:
    """The pyfunc at ``location`` (a local folder, or an archive shipped with the job: see
    ``edm.batch.shipping``), loaded once per worker process."""
    key = f"{location}|{bpm_range}"
    if key not in _loaded:
        import mlflow.pyfunc

        from edm.inference.network import set_inference_threads

        # Spark runs one task per core: the engine's own threads would fight the other tasks.
        set_inference_threads(max(1, threads))
        _loaded.clear()  # a worker keeps one model: the job's version
        model = mlflow.pyfunc.load_model(model_folder(location))
        if bpm_range != (None, None):
            model.unwrap_python_model().use_bpm_range(*bpm_range)
        _loaded[key] = model
    return _loaded[key]


def _timed(row: dict[str, Any], started: float) -> dict[str, Any]:
    row["seconds"] = time.perf_counter() - started
    return row


def _problem(exc: Exception) -> str:
    # The pyfunc names "input row 0" (its own row in a one-row frame): the path says more.
    message = str(exc).strip() or type(exc).__name__
    for prefix in ("input row 0: ", "input: "):
        message = message.removeprefix(prefix)
    return message.splitlines()[0][:500]


def _os_problem(exc: OSError) -> str:
    if exc.strerror:
        return f"cannot read the file: {exc.strerror}"
    return str(exc)[:500]
