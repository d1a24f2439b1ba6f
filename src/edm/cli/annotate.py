"""``edm annotate DIR``: review and correct structure annotations in the browser.

A thin shell over :mod:`edm.annotate`: it checks the folders and the binding, builds the app
and runs it with uvicorn on one process (saves are serialised per file inside it).
"""

from __future__ import annotations

import getpass
import threading
import webbrowser
from pathlib import Path

import typer

from edm.cli.data_options import audio_dir_option
from edm.cli.output import console, plain
from edm.errors import ConfigError, DataError


def annotate(
    ctx: typer.Context,
    folder: Path = typer.Argument(..., help="Folder of annotation YAML files (and audio)."),
    audio_dir: list[Path] = audio_dir_option(),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Model that pre-annotates tracks with no annotation when first opened: a version, "
        "Production (default), Staging, latest, a models:/ URI or a .pt checkpoint.",
    ),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback default)."),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="Port to listen on."),
    reviewer: str = typer.Option(
        None,
        "--reviewer",
        help="Name written as verified_by on loopback (default: your user name). With "
        "--api-keys-file the name comes from each reviewer's key instead.",
    ),
    api_keys_file: Path = typer.Option(
        None,
        "--api-keys-file",
        help="Reviewers' keys (edm api-key NAME makes one); required off loopback.",
    ),
    open_browser: bool = typer.Option(False, "--open", help="Open the page in a browser."),
) -> None:
    """Review and correct structure annotations in the browser, least-sure tracks first."""
    import uvicorn

    from edm.annotate import AnnotateConfig, create_app
    from edm.annotate.access import check_binding

    if not folder.is_dir():
        raise DataError(f"{folder}: annotation folder not found")
    for extra in audio_dir:
        if not Path(extra).is_dir():
            raise DataError(f"{extra}: audio folder not found")
    if api_keys_file is not None and not api_keys_file.is_file():
        raise ConfigError(f"--api-keys-file {api_keys_file}: file not found")
    check_binding(host, api_keys_file)
    config = AnnotateConfig(
        folder=folder,
        audio_dirs=tuple(Path(d) for d in audio_dir),
        model=model,
        tracking_uri=_tracking_uri(ctx),
        reviewer=reviewer or getpass.getuser(),
        host=host,
        api_keys_file=api_keys_file.resolve() if api_keys_file else None,
    )
    app = create_app(config)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{port}/"
    who = "reviewers' keys" if api_keys_file else f"reviewer {config.reviewer}"
    console.print(
        f"edm annotate: {plain(folder)} at {url} ({plain(who)}); Ctrl-C stops",
        highlight=False,
        soft_wrap=True,
    )
    if open_browser:
        threading.Timer(1.0, webbrowser.open, args=(url,)).start()
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _tracking_uri(ctx: typer.Context) -> str | None:
    state = ctx.find_root().obj
    return getattr(state, "tracking_uri", None)
