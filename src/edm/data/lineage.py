"""Code lineage: the git commit a model was made from."""

from __future__ import annotations

import subprocess
from pathlib import Path

UNKNOWN = "unknown"


def _git(args: list[str], cwd: Path | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_commit(cwd: Path | None = None) -> str:
    """Short hash of HEAD in the repository the code runs in, or "unknown"."""
    return _git(["rev-parse", "--short", "HEAD"], cwd) or UNKNOWN


def git_dirty(cwd: Path | None = None) -> bool | None:
    """Whether tracked files differ from HEAD; None outside a repository."""
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return None if status is None else bool(status)


def code_version_tags(cwd: Path | None = None) -> dict[str, str]:
    dirty = git_dirty(cwd)
    return {
        "git_commit": git_commit(cwd),
        "git_dirty": UNKNOWN if dirty is None else str(dirty).lower(),
    }
