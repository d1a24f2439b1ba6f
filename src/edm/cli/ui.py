"""``edm ui``: the MLflow UI on the very store the CLI uses."""

from __future__ import annotations

import os
import sys

import typer

from edm.cli.context import CliState
from edm.cli.output import console


def ui(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(5000, help="Port to listen on."),
) -> None:
    """Open the MLflow UI on the store edm uses (http://HOST:PORT)."""
    from edm.settings import resolve_store

    state = ctx.find_root().obj or CliState()
    store = resolve_store(state.tracking_uri)
    if store.is_remote:
        console.print(f"This store is a tracking server: its UI is at {store.display_uri}")
        return
    if store.local_dir is not None:
        store.local_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "mlflow", "ui",
        "--backend-store-uri", store.tracking_uri,
        "--host", host,
        "--port", str(port),
    ]  # fmt: skip
    if store.artifact_root:
        command += ["--default-artifact-root", store.artifact_root, "--no-serve-artifacts"]
    console.print(f"MLflow UI for {store.display_uri} at http://{host}:{port} (Ctrl-C stops it)")
    sys.stdout.flush()
    # MLflow's background job runner (a dozen processes for GenAI jobs) is not needed here.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    os.execv(sys.executable, command)
