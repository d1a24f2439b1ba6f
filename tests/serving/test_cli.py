"""`edm serve` as a command: light --help, one-line errors for bad options."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HELP = """
import sys
sys.argv = ["edm", "serve", "--help"]
from edm.cli.main import main
try:
    main()
except SystemExit as exit_:
    assert exit_.code in (0, None), exit_.code
heavy = sorted(m for m in ("mlflow", "torch", "fastapi", "uvicorn", "prometheus_client")
               if m in sys.modules)
assert not heavy, f"imported at start-up: {heavy}"
"""


def test_serve_help_is_light_and_lists_the_options() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HELP], capture_output=True, text=True, timeout=60,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for option in ("--port", "--workers", "--staging-share", "--shadow-share", "--max-upload-mb"):
        assert option in done.stdout


def test_bad_options_are_one_line_errors(store_uri: str) -> None:
    edm = Path(sys.executable).with_name("edm")
    for option, value, words in (
        ("--staging-share", "1.5", "--staging-share must be between 0 and 1"),
        ("--max-upload-mb", "0.0", "--max-upload-mb must be positive"),
    ):
        done = subprocess.run(
            [str(edm), "--tracking-uri", store_uri, "serve", option, value],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1
        assert done.stderr.strip().splitlines() == [f"Error: {words}, got {value}"]
