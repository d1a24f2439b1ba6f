"""A packed Python environment for executors, made the way the README tells a user to: a
virtualenv with edm (a real install, not an editable one) and what its analysis imports, packed
with venv-pack.

Only the executors' side is installed (no torch, no PySpark: Spark puts its own on the
workers' path), at the versions this process runs, so that results can be compared exactly.
"""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DRIVER = version("edm-structure")

# What an executor imports to analyse a track with the version's MLflow model (ONNX engine).
EXECUTOR_DISTRIBUTIONS = (
    "mlflow-skinny",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "soundfile",
    "soxr",
    "pydantic",
    "pyyaml",
    "onnxruntime",
)


def pack_environment(folder: Path) -> Path:
    """``folder/env.tar.gz``: the environment, ready for ``--python-env``."""
    venv = folder / "env"
    # --copies: Spark refuses an archive whose bin/python links outside it.
    subprocess.run([sys.executable, "-m", "venv", "--copies", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    pip += ["--disable-pip-version-check"]
    pinned = [f"{name}=={version(name)}" for name in EXECUTOR_DISTRIBUTIONS]
    subprocess.run([*pip, *pinned], check=True, capture_output=True)
    # The same code as this driver, under its version: the checkout may have moved on since the
    # editable install, and setuptools-scm would give the newer commit another version.
    same_version = {**os.environ, "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_EDM_STRUCTURE": DRIVER}
    subprocess.run(
        [*pip, "--no-deps", str(ROOT)], check=True, capture_output=True, env=same_version
    )
    archive = folder / "env.tar.gz"
    venv_pack = Path(sys.executable).parent / "venv-pack"
    subprocess.run(
        [str(venv_pack), "-p", str(venv), "-o", str(archive), "--compress-level", "1"]
        + ["--exclude", "*/tests/*"],
        check=True,
        capture_output=True,
    )
    return archive
