"""The sha256 of a file's bytes, remembered while the file is unchanged.

One place for what three parts need: the feature cache keys audio by it, a kept download is
checked by it (``edm.registry.version_cache``), and a checkpoint's ONNX export is named by it
(``edm.inference.engines``). The memo means a file hashed once in a process is not read again.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

_CHUNK_BYTES = 1 << 20

# (path, size, mtime_ns, inode) → sha256: the same shortcut DVC takes, so that an epoch does not
# re-read every audio file just to find its cache entry.
_memo: dict[tuple[str, int, int, int], str] = {}


def file_sha256(path: Path | str) -> str:
    """sha256 of a file's bytes, read in chunks; remembered while the file is unchanged."""
    key = _memo_key(Path(path))
    cached = _memo.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    _memo[key] = digest.hexdigest()
    return _memo[key]


def is_remembered(path: Path | str) -> bool:
    """Whether ``file_sha256(path)`` would answer without reading the file."""
    return _memo_key(Path(path)) in _memo


def _memo_key(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino)
