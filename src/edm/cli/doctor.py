"""``edm doctor``: which store edm talks to, whether it answers, what is in production."""

from __future__ import annotations

import os

import typer
from rich.table import Table

from edm import settings
from edm.cli.context import registry
from edm.cli.output import console, print_error, print_json


def doctor(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.5, help="Seconds to wait for the store."),
) -> None:
    """Check the tracking store; exit 1 with the reason when it cannot be reached."""
    from edm.registry.health import check_store

    # A health check answers quickly: this process asks MLflow for no retries, a short timeout.
    os.environ.update(settings.mlflow_fail_fast_environment(timeout))
    health = check_store(registry(ctx), timeout_s=timeout)
    if as_json:
        print_json(health.to_dict())
    else:
        table = Table.grid(padding=(0, 2))
        rows = [
            ("Tracking URI", health.tracking_uri),
            ("Registry URI", health.registry_uri),
            ("Artifact location", health.artifact_location),
            ("Experiment", health.experiment_name),
            ("Registered model", health.model_name),
            ("Reachable", "[green]yes[/]" if health.reachable else "[red]no[/]"),
        ]
        if health.reachable:
            rows += [
                ("Production", _version(health.production)),
                ("Staging", _version(health.staging)),
            ]
        for label, value in rows:
            table.add_row(f"[dim]{label}[/]", value)
        console.print(table)
    if not health.reachable:
        print_error(f"the tracking store is unreachable: {health.problem}")
        raise typer.Exit(1)


def _version(version: int | None) -> str:
    return "-" if version is None else f"version {version}"
