"""Drive `edm` through its real entry point, in-process, capturing what it prints."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from edm.cli.main import main


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


RunEdm = Callable[..., Result]


def make_runner(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> RunEdm:
    """Run the real entry point in-process, as the console script would, and capture it."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        monkeypatch.setattr(sys, "argv", ["edm", *args])
        # The entry point sets MLflow's settings in the environment, which dies with a real
        # process: put it back so that one command's settings do not leak into the next test.
        environment = os.environ.copy()
        try:
            main()
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        finally:
            os.environ.clear()
            os.environ.update(environment)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run
