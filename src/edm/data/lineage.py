"""Lineage: the git commit (code) and the dataset hash (data) a model was made from."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from edm.code_version import run_git
from edm.errors import DataError

UNKNOWN = "unknown"


def git_commit(cwd: Path | None = None, *, short: bool = True) -> str:
    """Hash of HEAD (short, or all 40 digits) in the repository the code runs in, or "unknown"."""
    return run_git(["rev-parse", *(["--short"] if short else []), "HEAD"], cwd) or UNKNOWN


def git_dirty(cwd: Path | None = None) -> bool | None:
    """Whether tracked files differ from HEAD; None outside a repository."""
    status = run_git(["status", "--porcelain", "--untracked-files=no"], cwd)
    return None if status is None else bool(status)


def code_version_tags(cwd: Path | None = None) -> dict[str, str]:
    dirty = git_dirty(cwd)
    return {
        "git_commit": git_commit(cwd),
        "git_dirty": UNKNOWN if dirty is None else str(dirty).lower(),
    }


def data_commit(data_dir: Path | str) -> str | None:
    """The commit of the user's git repository that holds ``data_dir`` (or its ``.dvc`` file),
    when git tracks either; None otherwise. Never edm's own commit: that is the code's."""
    folder = Path(data_dir).resolve()
    if not folder.is_dir():
        return None
    tracked = run_git(["ls-files", "--", folder.name, f"{folder.name}.dvc"], folder.parent)
    if not tracked:
        return None
    return run_git(["rev-parse", "HEAD"], folder.parent)


def dataset_hash(data_dir: Path | str) -> str:
    """DVC's hash of a data folder, ``<md5>.dir``.

    Taken from the ``.dvc`` file ``dvc add`` writes beside the folder (``data.dvc`` for
    ``data/``) when there is one, which costs nothing; otherwise computed as DVC computes it, so
    that both agree for the same content.
    """
    data_dir = Path(data_dir).resolve()
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found")
    dvc_file = data_dir.parent / f"{data_dir.name}.dvc"
    if dvc_file.is_file():
        return _md5_from_dvc_file(dvc_file)
    return directory_md5(data_dir)


def directory_md5(data_dir: Path) -> str:
    """DVC's directory hash: md5 of the JSON list of ``{"md5", "relpath"}`` sorted by path."""
    files = {}
    for root, dirs, names in os.walk(data_dir):
        dirs.sort()
        for name in names:
            path = Path(root) / name
            if path.is_file():
                files[path.relative_to(data_dir).as_posix()] = path
    return files_hash(files)


def files_hash(files: Mapping[str, Path]) -> str:
    """DVC's directory hash of the files given as ``{relpath: path}`` (the files a training
    used, which may lie in several folders): equal to :func:`directory_md5` of a folder that
    holds exactly these files at these relative paths."""
    entries = [{"md5": _file_md5(path), "relpath": relpath} for relpath, path in files.items()]
    entries.sort(key=lambda entry: entry["relpath"])
    listing = json.dumps(entries, sort_keys=True).encode("utf-8")
    return hashlib.md5(listing, usedforsecurity=False).hexdigest() + ".dir"


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _md5_from_dvc_file(dvc_file: Path) -> str:
    import yaml

    try:
        data = yaml.safe_load(dvc_file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(f"{dvc_file}: cannot be read as a DVC file: {exc}") from None
    outs = data.get("outs") if isinstance(data, dict) else None
    first = outs[0] if isinstance(outs, list) and outs else None
    md5 = first.get("md5") if isinstance(first, dict) else None
    if not isinstance(md5, str) or not md5:
        raise DataError(f"{dvc_file}: field 'outs[0].md5': missing")
    return md5
