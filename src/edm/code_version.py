"""Which edm code is running: its distribution, version and git commit.

The distribution is ``edm-structure`` (``edm`` on PyPI is another project; the import name stays
``edm``). Its version comes from git through setuptools-scm when it is installed, so two commits
never claim the same version.

The git commit is the one of the edm package's *own* source, never of the current folder: run
from a user's data repository, or from anywhere else, it is still edm's. In order:

1. ``_shipped.json`` beside this file: a model version's copy of the package (``code/edm`` in
   its MLflow model) says which code it is;
2. a git checkout that tracks this package (an editable install, a clone on ``PYTHONPATH``);
3. the installed distribution: ``direct_url.json``'s commit (``pip install git+...``), or the
   ``+g<hash>`` that setuptools-scm puts in the version;
4. ``"unknown"``.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path
from typing import Any

DISTRIBUTION = "edm-structure"
SHIPPED_FILE = "_shipped.json"
UNKNOWN = "unknown"
_SCM_HASH = re.compile(r"\+g([0-9a-f]{7,40})")


def package_dir() -> Path:
    """The folder of the ``edm`` package that is running."""
    return Path(__file__).resolve().parent


def installed_version() -> str:
    """edm's version: the shipped copy's, else the installed distribution's, else 0+unknown."""
    shipped = _shipped()
    if shipped.get("version"):
        return str(shipped["version"])
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def source_commit(*, short: bool = False) -> str:
    """The git commit of the running edm code (see the module docstring), or "unknown"."""
    commit = _commit()
    return commit[:7] if short and commit != UNKNOWN else commit


def source_dirty() -> bool | None:
    """Whether the running edm checkout has uncommitted changes; None when unknown."""
    shipped = _shipped()
    if "git_dirty" in shipped:
        return shipped["git_dirty"]
    if not _is_checkout():
        return None
    status = run_git(["status", "--porcelain", "--untracked-files=no", "--", "."], package_dir())
    return None if status is None else bool(status)


def code_version_tags() -> dict[str, str]:
    """The run tags that name the code: ``git_commit`` (short), ``git_dirty``, ``edm_version``."""
    dirty = source_dirty()
    return {
        "git_commit": source_commit(short=True),
        "git_dirty": UNKNOWN if dirty is None else str(dirty).lower(),
        "edm_version": installed_version(),
    }


def shipped_description() -> dict[str, Any]:
    """What a shipped copy of this package records about itself (``_shipped.json``)."""
    return {
        "distribution": DISTRIBUTION,
        "version": installed_version(),
        "git_commit": source_commit(),
        "git_dirty": source_dirty(),
    }


@functools.cache
def _commit() -> str:
    shipped = _shipped()
    if shipped.get("git_commit"):
        return str(shipped["git_commit"])
    if _is_checkout():
        commit = run_git(["rev-parse", "HEAD"], package_dir())
        if commit:
            return commit
    return _installed_commit() or UNKNOWN


@functools.cache
def _shipped() -> dict[str, Any]:
    try:
        document = json.loads((package_dir() / SHIPPED_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


@functools.cache
def _is_checkout() -> bool:
    """Whether git tracks this very package (not merely a folder above a site-packages)."""
    return run_git(["ls-files", "--error-unmatch", "__init__.py"], package_dir()) is not None


def _installed_commit() -> str | None:
    from importlib import metadata

    try:
        dist = metadata.distribution(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    try:
        direct = json.loads(dist.read_text("direct_url.json") or "{}")
    except ValueError:
        direct = {}
    commit = (direct.get("vcs_info") or {}).get("commit_id")
    if commit:
        return str(commit)
    found = _SCM_HASH.search(dist.version)
    return found.group(1) if found else None


def run_git(args: list[str], cwd: Path | None) -> str | None:
    """``git ARGS`` in ``cwd``: its output stripped, or None when git fails or is missing."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
