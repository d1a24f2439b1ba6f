"""A first task on each executor, before any track: can it run edm, see the shared folders
and open the shipped model?

This module imports nothing from edm, and its function is pickled by value (not by name): it
runs on executors where ``import edm`` fails, which is what it is there to report, in one
line, instead of every task of the job failing four times with a Python traceback.
"""

from __future__ import annotations

from typing import Any


def probe_executor(
    _index: int, *, shared_paths: tuple[str, ...], model_location: str
) -> dict[str, Any]:
    """What this executor's Python is and the first problem it has (``problem``: None)."""
    import os
    import socket
    import sys

    host = socket.gethostname()
    report: dict[str, Any] = {
        "host": host,
        "python": sys.executable,
        "python_version": "{}.{}.{}".format(*sys.version_info[:3]),
        "edm_version": None,
        "problem": None,
        "kind": None,
    }
    for path in shared_paths:
        if not os.path.isdir(path):
            report["kind"] = "shared_path"
            report["problem"] = (
                f"--shared-path {path} is not a folder on the executor host {host}: mount it "
                "at the same path on every worker"
            )
            return report
    try:
        from importlib.metadata import version

        import edm.batch.executor  # noqa: F401  (what every task imports first)
        from edm.batch.shipping import model_folder
        from edm.code_version import DISTRIBUTION

        report["edm_version"] = version(DISTRIBUTION)
    except Exception as exc:
        report["kind"] = "environment"
        report["problem"] = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return report
    folder = model_folder(model_location)
    if not os.path.isfile(os.path.join(folder, "MLmodel")):
        report["kind"] = "model"
        report["problem"] = f"the shipped model is not in {folder} on {host}"
    return report
