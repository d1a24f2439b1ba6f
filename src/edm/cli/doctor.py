"""``edm doctor``: which store edm talks to, whether it answers, what is in production."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import typer

from edm import settings
from edm.cli.context import registry
from edm.cli.output import console, plain, print_error, print_json

if TYPE_CHECKING:
    from edm.registry.checkup import RegistryCheck


def doctor(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.5, help="Seconds to wait for the store."),
) -> None:
    """Check the tracking store and the registry's trust; exit 1 on what needs a person.

    Exit 1 when the store cannot be reached, when a crashed promotion left a change half-done
    or an alias was moved outside edm ('edm models repair' fixes both; doctor itself changes
    nothing), or when the audit trail's chain is broken (see 'edm models history --verify').
    A promotion in progress, or a stale lock that moved nothing, is listed but is no damage.
    """
    from edm.registry.health import check_store
    from edm.registry.stale_runs import stale_runs

    # A health check answers quickly: this process asks MLflow for no retries, a short timeout.
    os.environ.update(settings.mlflow_fail_fast_environment(timeout))
    reg = registry(ctx)
    health = check_store(reg, timeout_s=timeout)
    check = reg.check_registry() if health.reachable else None
    stale = stale_runs(reg) if health.reachable else []
    if as_json:
        print_json(
            health.to_dict()
            | {
                "registry": check.to_dict() if check else None,
                "stale_runs": [run.to_dict() for run in stale],
            }
        )
    else:
        from rich.table import Table  # not at import: edm --help stays quick

        table = Table.grid(padding=(0, 2))
        rows = [
            ("Tracking URI", plain(health.tracking_uri)),
            ("Registry URI", plain(health.registry_uri)),
            ("Artifact location", plain(health.artifact_location)),
            ("Experiment", plain(health.experiment_name)),
            ("Registered model", plain(health.model_name)),
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
        if check is not None:
            _print_check(check)
        for run in stale:  # a crashed or killed -9 training: not damage to the registry
            console.print(f"[bold yellow]Left RUNNING:[/] {plain(run)}", highlight=False)
    if not health.reachable:
        print_error(f"the tracking store is unreachable: {health.problem}")
        raise typer.Exit(1)
    if check is not None and check.damaged:
        if any(u.change for u in check.unfinished) or check.drift:
            print_error("the registry needs repair: run 'edm models repair'")
        if not check.verification.ok:
            print_error(
                f"the audit trail has {len(check.verification.problems)} problem(s): "
                "see 'edm models history --verify'"
            )
        raise typer.Exit(1)


def _print_check(check: RegistryCheck) -> None:
    for unfinished in check.unfinished:
        label = "Unfinished promotion" if unfinished.change else "Stale promotion lock"
        console.print(f"[bold yellow]{label}:[/] {plain(unfinished)}", highlight=False)
    for running in check.in_progress:
        console.print(f"Promotion in progress: {plain(running)}", highlight=False)
    for found in check.drift:
        console.print(f"[bold yellow]Alias drift:[/] {plain(found)}", highlight=False)
    for problem in check.verification.problems:
        console.print(f"[bold red]Audit trail:[/] {plain(problem)}", highlight=False)
    if not (check.unfinished or check.drift or check.verification.problems):
        console.print(
            f"[dim]Registry[/]  no unfinished promotion, aliases match the audit trail, "
            f"{check.verification.entries} audit entries verified",
            highlight=False,
        )


def _version(version: int | None) -> str:
    return "-" if version is None else f"version {version}"
