"""Files that appear complete or not at all, readable as the user's umask asks.

A file is written to a temporary file beside the target, flushed to disk, given the mode a
plain ``open()`` would have given it, then renamed over the target, and the folder entry is
synced. A crash or an exception leaves the old file (or none), never half of one. Every file
edm writes (checkpoints, annotations, plots, cached features) goes through here.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# A temporary is ``.<target name>.<random>.tmp`` beside its target: hidden (Spark, pyarrow and
# ls skip it) and recognisable after a crash (:func:`remove_temporaries`).
_TEMPORARY_SUFFIX = ".tmp"


def _umask_from_proc() -> int | None:
    # Linux (4.7 and later) shows the umask without changing it; os.umask can only read it by
    # setting it, which races with any thread creating a file at that moment.
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None


def _umask_by_setting() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


# Read once while importing (one thread, as a rule) for systems without /proc.
_UMASK_AT_IMPORT = _umask_from_proc()
if _UMASK_AT_IMPORT is None:
    _UMASK_AT_IMPORT = _umask_by_setting()


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    mask = _umask_from_proc()
    return _UMASK_AT_IMPORT if mask is None else mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: ``0o666`` less the umask."""
    return 0o666 & ~current_umask()


@contextmanager
def atomic_write(
    path: str | os.PathLike[str], mode: str = "wb", encoding: str | None = None
) -> Iterator[IO[Any]]:
    """``with atomic_write(p, "w", "utf-8") as handle: handle.write(...)``.

    Missing parent folders are created. ``mkstemp`` makes the temporary file ``0600`` (so
    nobody reads it half-written); the finished file gets ``file_mode()`` so that a teammate
    reads it in a shared folder when the umask allows.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=_TEMPORARY_SUFFIX, dir=target.parent
    )
    try:
        with os.fdopen(descriptor, mode, encoding=encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), file_mode())
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(exc, OSError) and exc.filename in (None, temporary):
            # Name the file being written, not its temporary stand-in (a full disk, say).
            raise type(exc)(exc.errno, exc.strerror, str(target)) from exc
        raise
    _sync_folder(target.parent)


def remove_temporaries(folder: str | os.PathLike[str]) -> int:
    """Delete the temporaries that writes killed midway left in ``folder``; how many.

    Only for a folder nobody is writing to now: a live write's temporary would vanish under it.
    """
    removed = 0
    for temporary in Path(folder).glob(f".*{_TEMPORARY_SUFFIX}"):
        temporary.unlink(missing_ok=True)
        removed += 1
    return removed


def write_text_atomically(path: str | os.PathLike[str], text: str) -> None:
    with atomic_write(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def _sync_folder(folder: Path) -> None:
    # The rename is durable only once the folder entry is on disk; Windows has no folder fds.
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
