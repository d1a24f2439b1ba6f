"""`edm data synth` on a full disk: one line naming the file, nothing half-written.

A small full filesystem needs root to mount; a file-size limit (RLIMIT_FSIZE) makes writes
fail the same way (EFBIG instead of ENOSPC) for an unprivileged child process.
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

LIMIT_BYTES = 300_000  # a YAML fits, a 30 s WAV (1.3 MB) does not


def _small_disk() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT_BYTES, LIMIT_BYTES))


def test_synth_on_a_full_disk_is_one_line_and_leaves_no_partial_wav(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    done = subprocess.run(
        [sys.executable, "-B", "-m", "edm", "data", "synth", str(out), "--tracks", "2",
         "--min-seconds", "30", "--max-seconds", "31"],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_small_disk,
    )  # fmt: skip
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: cannot write {out}/track_00")
    assert lines[0].endswith(".wav: File too large")
    assert "LibsndfileError" not in done.stderr and "unexpected" not in done.stderr
    assert not list(out.glob("*.wav"))
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_an_atomic_write_that_fails_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "result.yaml"
    script = (
        "from edm.atomic import write_text_atomically\n"
        "try:\n"
        f"    write_text_atomically({str(target)!r}, 'x' * {LIMIT_BYTES * 2})\n"
        "except OSError as error:\n"
        "    print(error.filename, error.strerror)\n"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_small_disk,
    )
    assert done.stdout.strip() == f"{target} File too large", done.stderr
    assert list(tmp_path.iterdir()) == []
