"""Which tracks of a listing need Spark, decided in the driver from what OUT already holds.

A track whose latest result counts as done, and whose file has the size and modification time
recorded with it, is skipped here, without reading it: a re-run over a done catalogue starts
no JVM. One whose size or time changed, or was never recorded, goes to the executors with the
recorded content hash, and they skip it if the content is the same.

A track whose result is an error stays failed while its file is unchanged: it is not read
again, but it is counted as failed and named in the summary (exit 1), so a re-run never turns
a failure into a success. ``--retry-failed`` analyses such tracks again, and so does any change
to the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from edm.batch.files import InputFile, is_s3
from edm.batch.results import DoneRow


@dataclass(frozen=True)
class TrackPlan:
    pending: list[tuple[InputFile, str | None]]  # for Spark, with the hash that counts as done
    skipped: int  # done and unchanged: not read at all
    stale: int  # of the skipped, those whose result is of another version
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path, error) kept from before
    # Pending with the hash of another version's result: stale too, if the executors skip them.
    stale_candidates: frozenset[str] = frozenset()


def plan_tracks(
    listing: list[InputFile],
    done: dict[str, list[DoneRow]],
    version: int,
    *,
    this_version_only: bool,
    retry_failed: bool,
) -> TrackPlan:
    pending: list[tuple[InputFile, str | None]] = []
    skipped = stale = 0
    failed: list[tuple[str, str]] = []
    stale_candidates: set[str] = set()
    for listed in listing:
        item = _with_status(listed)
        rows = done.get(item.path, [])
        if this_version_only:
            rows = [row for row in rows if row.model_version == version]
        latest = rows[0] if rows else None
        if latest is None:
            pending.append((item, None))
            continue
        unchanged = _unchanged(item, latest)
        if latest.error is not None:
            if unchanged and not retry_failed:
                failed.append((item.path, latest.error))
            else:
                pending.append((item, None))
            continue
        if unchanged:
            skipped += 1
            stale += latest.model_version != version
        else:
            pending.append((item, latest.content_hash))
            if latest.model_version != version:
                stale_candidates.add(item.path)
    return TrackPlan(pending, skipped, stale, failed, frozenset(stale_candidates))


def _with_status(item: InputFile) -> InputFile:
    """A local path of a text or Parquet listing, with its size and time read now (before
    any executor reads it, so a later change always shows)."""
    if (item.size_bytes is not None and item.mtime_ns is not None) or is_s3(item.path):
        return item
    try:
        status = os.stat(item.path)
    except OSError:
        return item  # the executor says what is wrong with it, on its row
    return InputFile(item.path, status.st_size, status.st_mtime_ns)


def _unchanged(item: InputFile, row: DoneRow) -> bool:
    if None in (row.size_bytes, row.mtime_ns, item.size_bytes, item.mtime_ns):
        return False
    return item.size_bytes == row.size_bytes and item.mtime_ns == row.mtime_ns
