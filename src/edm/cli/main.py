"""Entry point of ``edm``: global options, command groups, and the one-line error rule."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import NoReturn

import typer

from edm import settings
from edm.cli import (
    analyze,
    annotate,
    batch,
    data,
    doctor,
    evaluate,
    interrupts,
    models,
    monitor,
    review,
    serve,
    train,
    ui,
)
from edm.cli.context import CliState
from edm.cli.output import err_console, print_error
from edm.errors import EdmError, interrupt_behind

app = typer.Typer(
    name="edm",
    help="Train, track, version, promote and serve EDM track-structure models.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.add_typer(models.app, name="models")
app.add_typer(data.app, name="data")
app.add_typer(monitor.app, name="monitor")
app.add_typer(batch.app, name="batch")
app.add_typer(review.app, name="review")
app.command("train")(train.train)
app.command("doctor")(doctor.doctor)
app.command("ui")(ui.ui)
app.command("analyze")(analyze.analyze)
app.command("annotate")(annotate.annotate)
app.command("evaluate")(evaluate.evaluate)
app.command("serve")(serve.serve)
app.command("api-key")(serve.api_key)


def _print_version(value: bool) -> None:
    if value:
        from edm import __version__

        print(f"edm {__version__}")
        raise typer.Exit()


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
    version: bool = typer.Option(
        False,
        "--version",
        is_eager=True,
        callback=_print_version,
        help="Print edm's version and exit.",
    ),
) -> None:
    ctx.obj = CliState(tracking_uri=tracking_uri)


def debug_enabled() -> bool:
    return os.environ.get("EDM_DEBUG", "") not in ("", "0", "false")


def quiet_library_noise(debug: bool) -> None:
    """Keep libraries' warnings off the screen (EDM_DEBUG=1 or python -W shows them again).

    numpy's RuntimeWarnings, MLflow's UserWarnings and FutureWarnings, urllib3's retry
    warnings: none of them is for the person at the terminal, who gets edm's own lines.
    """
    if debug:
        return
    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    for name in ("urllib3", "requests", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)


def main() -> None:
    # MLflow reads these from the environment only; the library never sets them.
    for name, value in settings.mlflow_environment_defaults(debug=debug_enabled()).items():
        os.environ.setdefault(name, value)
    quiet_library_noise(debug_enabled())
    previous = interrupts.install()
    try:
        app(prog_name="edm")
    except SystemExit as exc:
        # Typer turns a KeyboardInterrupt into a silent exit 130: say what happened, once.
        if exc.code == 130 and interrupts.was_interrupted() and not interrupts.announced():
            err_console.print(f"[red]Interrupted ({interrupts.received()}).[/]", highlight=False)
        raise
    except EdmError as exc:
        _exit_if_interrupted(exc)
        if debug_enabled():
            raise
        print_error(str(exc))
        sys.exit(1)
    except KeyboardInterrupt:
        err_console.print(f"[red]Interrupted ({interrupts.received()}).[/]", highlight=False)
        sys.exit(130)
    except OSError as exc:  # a full disk, a file that cannot be read: name it
        if debug_enabled() or not exc.filename:
            _unexpected(exc)
        print_error(f"{exc.filename}: {exc.strerror or exc}")
        sys.exit(1)
    except Exception as exc:
        _exit_if_interrupted(exc)
        _unexpected(exc)
    finally:
        interrupts.restore(previous)


def _exit_if_interrupted(exc: Exception) -> None:
    """A library that turned Ctrl-C or SIGTERM into its own error: still an interrupt, 130."""
    if interrupt_behind(exc) is not None:
        err_console.print(f"[red]Interrupted ({interrupts.received()}).[/]", highlight=False)
        sys.exit(130)


def _unexpected(exc: Exception) -> NoReturn:
    if debug_enabled():
        raise exc
    print_error(f"unexpected {type(exc).__name__}: {exc} (set EDM_DEBUG=1 for the traceback)")
    sys.exit(1)


if __name__ == "__main__":
    main()
