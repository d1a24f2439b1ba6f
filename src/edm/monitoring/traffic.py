"""What the service recorded of Production's requests: each answer's descriptors, on disk.

``edm serve --record-traffic DIR`` appends one JSON line per Production answer::

    {"at": "2026-12-06T08:00:00.123+00:00", "features": {"bpm": 126.0, "loudness": -9.1, ...}}

to ``DIR/version-<N>/<host>-<pid>.jsonl``: one file per worker (no two processes append to
one file), one folder per version (the output descriptors belong to the version that answered).
Only the descriptors (``edm.monitoring.descriptors``: numbers) are kept, never a file name, a
client or the audio. A file past ``max_bytes`` becomes ``<host>-<pid>.old.jsonl`` (replacing
the one before) and a new one starts, so each worker keeps between one and two files' worth.

``recent_traffic`` reads a version's newest rows back, for ``edm monitor reference
--from-traffic`` (a version's reference refreshed from what it serves now).
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from edm.errors import DataError

MAX_BYTES = 8 * 1024 * 1024  # about 15,000 answers per file
SUFFIX = ".jsonl"
OLD_SUFFIX = ".old.jsonl"


def version_folder(folder: Path | str, version: int) -> Path:
    return Path(folder) / f"version-{int(version)}"


class TrafficRecorder:
    """Appends Production's answers to this process's file (thread-safe)."""

    def __init__(self, folder: Path | str, *, max_bytes: int = MAX_BYTES) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._name = f"{socket.gethostname() or 'host'}-{os.getpid()}"

    def record(
        self, version: int, descriptors: Mapping[str, float], at: datetime | None = None
    ) -> None:
        moment = (at or datetime.now(UTC)).isoformat(timespec="milliseconds")
        features = {
            name: (float(value) if math.isfinite(value) else None)
            for name, value in descriptors.items()
        }
        line = json.dumps({"at": moment, "features": features}, separators=(",", ":")) + "\n"
        folder = version_folder(self.folder, version)
        path = folder / f"{self._name}{SUFFIX}"
        with self._lock:
            folder.mkdir(parents=True, exist_ok=True)
            try:
                if path.stat().st_size + len(line) > self.max_bytes:
                    path.replace(folder / f"{self._name}{OLD_SUFFIX}")
            except FileNotFoundError:
                pass
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(line)


@dataclass(frozen=True)
class RecordedTraffic:
    rows: list[dict[str, float]]  # the descriptors, oldest first
    first: str | None  # when the oldest and newest of them were answered
    last: str | None
    files: int


def recent_traffic(folder: Path | str, version: int, last: int) -> RecordedTraffic:
    """The newest ``last`` answers of ``version`` recorded under ``folder`` (every worker's
    files); DataError when the folder holds nothing for it. Unreadable lines are skipped."""
    where = version_folder(folder, version)
    if not Path(folder).is_dir():
        raise DataError(
            f"{folder}: no such folder of recorded traffic (edm serve --record-traffic)"
        )
    files = sorted(where.glob(f"*{SUFFIX}")) if where.is_dir() else []
    if not files:
        raise DataError(
            f"{folder}: no traffic recorded for version {version} (expected {where}/*{SUFFIX}, "
            "written by edm serve --record-traffic while the version served Production)"
        )
    found: list[tuple[str, dict[str, float]]] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise DataError(f"{path}: cannot read the recorded traffic ({exc})") from None
        for line in text.splitlines():
            row = _row(line)
            if row is not None:
                found.append(row)
    found.sort(key=lambda item: item[0])
    newest = found[-last:] if last > 0 else []
    return RecordedTraffic(
        rows=[features for _, features in newest],
        first=newest[0][0] if newest else None,
        last=newest[-1][0] if newest else None,
        files=len(files),
    )


def _row(line: str) -> tuple[str, dict[str, float]] | None:
    try:
        document = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None  # a line cut short by a crash, say
    if not isinstance(document, dict) or not isinstance(document.get("features"), dict):
        return None
    at = document.get("at")
    if not isinstance(at, str):
        return None
    features: dict[str, float] = {}
    for name, value in document["features"].items():
        if value is None:
            features[str(name)] = math.nan
        elif isinstance(value, int | float) and not isinstance(value, bool):
            features[str(name)] = float(value)
    return at, features
