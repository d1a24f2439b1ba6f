"""Atomic writes: complete or absent, and readable as the process's real umask says."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from edm.atomic import _umask_by_setting, atomic_write, current_umask, write_text_atomically

# What a plain open() gives a new file under each umask: the mode edm's files must get.
MODES = {0o022: 0o644, 0o002: 0o664, 0o077: 0o600}


def modes_under_umasks(script: str, folder: Path) -> dict[int, dict[str, int]]:
    """Run ``script`` in a fresh interpreter once per umask (set with the real os.umask before
    edm is imported); the script writes files into FOLDER and they are stat'ed here."""
    found = {}
    for mask in MODES:
        out = folder / f"umask-{mask:03o}"
        out.mkdir()
        program = f"import os\nos.umask({mask:#o})\nFOLDER = {str(out)!r}\n" + script
        done = subprocess.run(
            [sys.executable, "-c", program], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        found[mask] = {p.name: p.stat().st_mode & 0o777 for p in sorted(out.iterdir())}
    return found


def test_files_get_the_mode_the_umask_asks_for(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json
        from pathlib import Path
        from edm.atomic import atomic_write, current_umask, write_text_atomically
        folder = Path(FOLDER)
        with atomic_write(folder / "data.bin") as handle:
            handle.write(b"bytes")
        write_text_atomically(folder / "notes.yaml", "a: 1\\n")
        stale = folder / "replaced.txt"
        stale.write_text("old")
        stale.chmod(0o600)  # replacing a file gives the new one the umask's mode, too
        write_text_atomically(stale, "new")
        assert current_umask() == os.umask(current_umask()), "current_umask is wrong"
        """
    )
    for mask, modes in modes_under_umasks(script, tmp_path).items():
        assert modes == dict.fromkeys(["data.bin", "notes.yaml", "replaced.txt"], MODES[mask]), (
            f"umask {mask:03o}: {json.dumps({k: oct(v) for k, v in modes.items()})}"
        )


def test_reading_the_umask_leaves_it_unchanged() -> None:
    before = os.umask(0o027)
    try:
        assert current_umask() == 0o027
        assert current_umask() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)


def test_the_fallback_reader_restores_the_umask() -> None:
    """Without /proc the umask is read once at import by setting it and setting it back."""
    before = os.umask(0o027)
    try:
        assert _umask_by_setting() == 0o027
        assert os.umask(0o027) == 0o027
    finally:
        os.umask(before)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "kept.txt"
    write_text_atomically(target, "old")
    with pytest.raises(RuntimeError), atomic_write(target, "w", encoding="utf-8") as handle:
        handle.write("half of the new")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.txt"]


def test_missing_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.txt"
    write_text_atomically(target, "here")
    assert target.read_text() == "here"
