"""Two listeners, one application: the public port for clients, an admin port for the hooks.

``edm serve --admin-port P`` binds a second socket (on ``--admin-host``, loopback unless
told otherwise) and hands both to uvicorn, so every worker answers on both. The hooks that
change what the service or the registry does (``/hooks/mlflow``, ``/hooks/alertmanager``)
are then answered on the admin port only, and the admin port answers nothing a client
needs; ``/health``, ``/ready`` and ``/metrics`` answer on both, for probes and scrapes on
either network. Which listener a request came in on is the local address of its
connection, which a client cannot forge.
"""

from __future__ import annotations

import signal
import sys
from typing import Any

from edm.serving.state import error_response

ADMIN_ONLY = ("/hooks/mlflow", "/hooks/alertmanager")
ON_BOTH = ("/health", "/ready", "/metrics")


class ListenerSplit:
    """A pure ASGI middleware: 404 JSON for a route asked on the wrong listener."""

    def __init__(self, app: Any, admin_port: int) -> None:
        self.app = app
        self.admin_port = admin_port

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            server = scope.get("server") or ("", None)
            on_admin = server[1] == self.admin_port
            path = scope.get("path", "")
            refusal = None
            if on_admin and path not in ADMIN_ONLY + ON_BOTH:
                refusal = f"the admin listener answers only {', '.join(ADMIN_ONLY + ON_BOTH)}"
            elif not on_admin and path in ADMIN_ONLY:
                refusal = f"{path} is answered on the admin listener only (--admin-port)"
            if refusal is not None:
                await error_response(404, refusal)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def public_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document without the admin-only routes (they are not on this port)."""
    paths = {path: item for path, item in schema.get("paths", {}).items() if path not in ADMIN_ONLY}
    return schema | {"paths": paths}


def run(
    app_factory: str,
    *,
    host: str,
    port: int,
    admin: tuple[str, int] | None,
    workers: int,
    **options: Any,
) -> None:
    """uvicorn on the public socket, and the admin socket when asked for: what
    ``uvicorn.run`` does for one socket, for two."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from edm.serving.connections import PROTOCOL

    # Connections bounded in time and number (see ``connections``).
    options.setdefault("http", PROTOCOL)
    config = uvicorn.Config(
        app_factory, factory=True, host=host, port=port, workers=workers, **options
    )
    sockets = [config.bind_socket()]
    if admin is not None:
        admin_host, admin_port = admin
        sockets.append(uvicorn.Config(app_factory, host=admin_host, port=admin_port).bind_socket())
    server = uvicorn.Server(config)

    class Supervisor(Multiprocess):
        def terminate_all(self) -> None:
            for sock in sockets:  # stop accepting while the workers drain: refused, not queued
                sock.close()
            super().terminate_all()

    # uvicorn raises the signal again once it has drained, to exit as the signal would: with
    # this handler in place a drained SIGTERM exits 0 (as one before start-up does).
    previous = signal.signal(signal.SIGTERM, _exit_drained)
    try:
        if workers > 1:
            Supervisor(config, sockets=sockets).run()
        else:
            config.load_app()
            server.run(sockets=sockets)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        for sock in sockets:
            sock.close()
    if workers == 1 and not server.started:
        sys.exit(3)  # uvicorn's own exit code when the app cannot start


def _exit_drained(signum: int, frame: Any) -> None:
    raise SystemExit(0)
