"""``edm ui``: the MLflow UI on the very store the CLI uses."""

from __future__ import annotations

import os
import sys

import typer

from edm.cli.context import CliState
from edm.cli.output import console, plain
from edm.errors import ConfigError, StoreError


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
        console.print(f"This store is a tracking server: its UI is at {plain(store.display_uri)}")
        return
    _check_can_listen(host, port)
    if store.local_dir is not None:
        store.local_dir.mkdir(parents=True, exist_ok=True)
    else:  # a database server: MLflow would retry it for 100 s, printing warnings
        from edm.registry.reachability import unreachable_reason

        reason = unreachable_reason(store.tracking_uri)
        if reason is not None:
            raise StoreError(f"the tracking store cannot be reached: {reason}")
    # The store URI (and its password) travels in the environment, never on a command line
    # that `ps` shows to every user of the machine; MLflow hands it on the same way.
    os.environ["MLFLOW_BACKEND_STORE_URI"] = store.tracking_uri
    command = [sys.executable, "-m", "mlflow", "ui", "--host", host, "--port", str(port)]
    if store.artifact_root:
        os.environ["MLFLOW_DEFAULT_ARTIFACT_ROOT"] = store.artifact_root
        command += ["--no-serve-artifacts"]
    console.print(
        f"MLflow UI for {plain(store.display_uri)} at http://{plain(host)}:{port} (Ctrl-C stops it)"
    )
    # MLflow 3.17's UI opens in its GenAI view whatever the experiment's kind; its switch decides.
    console.print('Runs, metrics and models: choose "Model training" at the top left of the UI.')
    sys.stdout.flush()
    # MLflow's background job runner (a dozen processes for GenAI jobs) is not needed here.
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    os.execv(sys.executable, command)


def _check_can_listen(host: str, port: int) -> None:
    """A bad port or one in use is one line now, not a traceback from the child later."""
    if not 1 <= port <= 65535:
        raise ConfigError(f"--port {port} is not a port number (1-65535)")
    import socket  # here, not at import: every other command starts without it

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(f"--host {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As the server will: a port whose old connections linger in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
