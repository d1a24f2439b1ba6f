"""Which code is running: the distribution we own, a version from git, the package's commit."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import edm
from edm.code_version import DISTRIBUTION, SHIPPED_FILE, package_dir

REPO = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def test_the_distribution_is_ours_and_versioned_from_git() -> None:
    version = metadata.version(DISTRIBUTION)
    assert edm.__version__ == version
    # setuptools-scm's form: a release, or a dev version naming the commit it was built from
    # (and the date when the tree was dirty); never the fixed 0.1.0 of before.
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?(\+g[0-9a-f]{7,}(\.d\d{8})?)?", version)
    assert version != "0.1.0"
    assert metadata.metadata(DISTRIBUTION)["Name"] == "edm-structure"


def test_the_commit_is_edms_own_whatever_the_current_folder(tmp_path: Path) -> None:
    """Run from a user's own git repository, the run still names edm's commit, not theirs."""
    data_repo = tmp_path / "data-repo"
    data_repo.mkdir()
    _git("init", "-q", cwd=data_repo)
    (data_repo / "x.txt").write_text("x")
    _git("add", "x.txt", cwd=data_repo)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
    }
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    subprocess.run(["git", "commit", "-qm", "data"], cwd=data_repo, check=True, env=env)
    code = "from edm.code_version import source_commit; print(source_commit())"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=data_repo, check=True, capture_output=True, text=True
    )
    assert done.stdout.strip() == _git("rev-parse", "HEAD", cwd=REPO)
    assert done.stdout.strip() != _git("rev-parse", "HEAD", cwd=data_repo)


def test_a_shipped_copy_says_which_code_it_is(tmp_path: Path) -> None:
    """A model version's copy of the package, outside any checkout, reads its _shipped.json."""
    copy = tmp_path / "code" / "edm"
    shutil.copytree(package_dir(), copy, ignore=shutil.ignore_patterns("__pycache__", "static"))
    shipped = {"distribution": DISTRIBUTION, "version": "9.9.9", "git_commit": "a" * 40}
    (copy / SHIPPED_FILE).write_text(json.dumps(shipped))
    code = (
        "import edm; from edm.code_version import source_commit; "
        "print(edm.__file__, edm.__version__, source_commit())"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(copy.parent)},
        check=True,
        capture_output=True,
        text=True,
    )
    where, version, commit = done.stdout.split()
    assert Path(where).parent == copy
    assert (version, commit) == ("9.9.9", "a" * 40)
