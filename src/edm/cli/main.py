"""Entry point of ``edm``: global options, command groups, and the one-line error rule."""

from __future__ import annotations

import os
import sys

import typer

from edm import settings
from edm.cli import analyze, data, doctor, evaluate, models, train, ui
from edm.cli.context import CliState
from edm.cli.output import err_console, print_error
from edm.errors import EdmError

app = typer.Typer(
    name="edm",
    help="Train, track, version, promote and serve EDM track-structure models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")
app.command("train")(train.train)
app.command("doctor")(doctor.doctor)
app.command("ui")(ui.ui)
app.command("analyze")(analyze.analyze)
app.command("evaluate")(evaluate.evaluate)


@app.callback()
def _global_options(
    ctx: typer.Context,
    tracking_uri: str = typer.Option(
        None,
        "--tracking-uri",
        envvar="MLFLOW_TRACKING_URI",
        show_envvar=True,
        help="MLflow tracking store: a directory, sqlite:///, postgresql:// or http(s)://. "
        "Default: ./mlruns (SQLite) with artifacts in ./mlartifacts.",
    ),
) -> None:
    ctx.obj = CliState(tracking_uri=tracking_uri)


def debug_enabled() -> bool:
    return os.environ.get("EDM_DEBUG", "") not in ("", "0", "false")


def main() -> None:
    # MLflow reads these from the environment only; the library never sets them.
    for name, value in settings.mlflow_environment_defaults(debug=debug_enabled()).items():
        os.environ.setdefault(name, value)
    try:
        app(prog_name="edm")
    except EdmError as exc:
        if debug_enabled():
            raise
        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print("[red]Interrupted.[/]")
        sys.exit(130)
    except Exception as exc:
        if debug_enabled():
            raise
        print_error(f"unexpected {type(exc).__name__}: {exc} (set EDM_DEBUG=1 for the traceback)")
        sys.exit(1)


if __name__ == "__main__":
    main()
