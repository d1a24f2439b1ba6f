"""The review queue file: the order in which ``edm annotate`` opens a folder's tracks.

``edm review queue DIR`` writes ``DIR/.edm-review-queue``, one track id (the annotation's path
relative to DIR) a line, most worth reviewing first; ``edm annotate DIR`` lists those tracks
first, in that order, while they are not reviewed. Lines starting with ``#`` are comments.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from edm.atomic import write_text_atomically

QUEUE_FILE = ".edm-review-queue"
# Where edm batch analyze --format yaml writes its proposals: OUT/_annotations/v<VERSION>/.
BATCH_PROPOSALS = "_annotations"


def latest_proposals(out: Path) -> Path | None:
    """The proposals of the last ``--format yaml`` batch written to ``out`` (the version
    folder under ``OUT/_annotations`` changed last); None when ``out`` has none."""
    folders = [p for p in (out / BATCH_PROPOSALS).glob("v*") if p.is_dir()]
    return max(folders, key=lambda p: p.stat().st_mtime_ns) if folders else None


def write_queue(folder: Path | str, track_ids: Iterable[str], comment: str = "") -> Path:
    path = Path(folder) / QUEUE_FILE
    header = "".join(f"# {line}\n" for line in comment.splitlines())
    write_text_atomically(path, header + "".join(f"{t}\n" for t in track_ids))
    return path


def read_queue(folder: Path | str) -> list[str]:
    """The folder's queue, in order (empty without a queue file)."""
    path = Path(folder) / QUEUE_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
