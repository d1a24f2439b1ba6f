"""``edm models …``: list, inspect, promote, roll back and download registered versions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from edm.cli import output, promote_gate
from edm.cli.context import registry
from edm.cli.output import console, format_number, human_time, plain, print_json, styled_stage
from edm.errors import NoProductionModelError, PromotionRefusedError

# rich.table and edm.registry are imported where used: `edm --version` and `edm --help` stay
# quick (edm.registry's package brings hashing and records with it).
if TYPE_CHECKING:
    from rich.table import Table

    from edm.registry import AuditEntry

app = typer.Typer(help="Registered model versions and their stages.", no_args_is_help=True)

EMPTY_HINT = (
    "No models found in {uri}.\n"
    "Check that this is the store you trained into (--tracking-uri or MLFLOW_TRACKING_URI), "
    "list its experiments with 'mlflow experiments search', or train a model first: "
    "the 'edm-training' experiment is created on first use."
)


@app.command("list")
def list_models(
    ctx: typer.Context,
    max_results: int = typer.Option(10, "--max-results", "-n", min=1, help="Newest N versions."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """List the newest registered versions with their stage and validation loss."""
    from rich.table import Table

    reg = registry(ctx)
    records = reg.version_records(max_results=max_results)
    if as_json:
        print_json([record.to_dict() for record in records])
        return
    if not records:
        console.print(EMPTY_HINT.format(uri=plain(reg.store.display_uri)), highlight=False)
        return
    table = Table(title=plain(reg.model_name), title_justify="left")
    for column in ("Version", "Stage", "Run name", "Val loss", "Backbone", "Created (UTC)"):
        table.add_column(column, justify="right" if column in ("Version", "Val loss") else "left")
    for record in records:
        table.add_row(
            str(record.version),
            styled_stage(record.stage.value),
            plain(record.run_name or "-"),
            format_number(record.metrics.get("best_val_loss")),
            plain(record.params.get("backbone", "-")),
            human_time(record.created),
        )
    console.print(table)


_KIND_TEXT = {
    "mlflow-model": "MLflow model (mlflow.pyfunc.load_model, mlflow models serve)",
    "checkpoint": "bare checkpoint (edm only: registered before MLflow models)",
}


@app.command("info")
def info(
    ctx: typer.Context,
    version: int = typer.Argument(..., help="Version number."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Everything about one version: stage, run, metrics, params, tags, audit entries."""
    from rich.table import Table

    reg = registry(ctx)
    record = reg.version_record(version)
    if record is None:
        output.print_error(f"model version {version} of '{reg.model_name}' does not exist")
        raise typer.Exit(1)
    if as_json:
        print_json(record.to_dict(detail=True))
        return
    console.print(f"[bold]{plain(reg.model_name)}[/] version [bold]{record.version}[/]")
    header = Table.grid(padding=(0, 2))
    for label, value in (
        ("Stage", styled_stage(record.stage.value)),
        ("Run name", plain(record.run_name or "-")),
        ("Run id", plain(record.run_id or "-")),
        ("Run status", plain(record.run_status or "-")),
        ("Created (UTC)", human_time(record.created)),
        ("Kind", _KIND_TEXT.get(record.kind, plain(record.kind))),
        ("Source", plain(record.source)),
        ("Description", plain(record.description or "-")),
        ("Lineage", plain(_lineage(reg, record))),
        ("Review", plain(_review_line(record.metrics))),
    ):
        header.add_row(f"[dim]{label}[/]", value)
    console.print(header)
    for title, values in (
        ("Metrics", record.metrics),
        ("Params", record.params),
        ("Tags", record.tags),
    ):
        console.print(_key_value_table(title, values))
    console.print(_audit_table("Audit", record.audit))


@app.command("promote")
def promote(
    ctx: typer.Context,
    version: int = typer.Argument(..., help="Version number."),
    stage: str = typer.Argument(..., help="None, Staging, Production or Archived (any case)."),
    reason: str = typer.Option(None, "--reason", "-r", help="Why: kept in the audit trail."),
    force: bool = typer.Option(
        False, "--force", help="Promote to Production past the evaluation gate (needs --reason)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the audit entry as JSON."),
    holdout: Path = promote_gate.holdout_option(),
    require: list[str] = promote_gate.require_option(),
) -> None:
    """Move a version to a stage (Production archives the version it replaces).

    Production is gated: the candidate and the production version are compared on the same
    held-out data (the same digest, never the candidate's training tracks), metric by metric
    (beats, downbeats, tempo, boundaries, labels by default; gate.toml, [tool.edm.gate] or
    --require). A version that was in Production before goes back without the gate, recorded
    as a rollback.
    """
    gated = registry(ctx)
    if stage.strip().lower() == "production":
        gated = promote_gate.gated_registry(ctx, version, holdout, require)
    try:
        entry = gated.promote_model(version, stage, reason=reason, force=force)
    except PromotionRefusedError as refused:  # the gate's table, then the one-line error
        head, _, table = str(refused).partition("\n")
        if table:
            output.err_console.print(plain(table), highlight=False, soft_wrap=True)
        raise PromotionRefusedError(head) from None
    if as_json:
        print_json({"changed": entry is not None, "entry": entry.to_dict() if entry else None})
    elif entry is None:
        console.print(f"Version {version} is already in that stage; nothing changed.")
    else:
        console.print(_describe_change(entry))


@app.command("rollback")
def rollback(
    ctx: typer.Context,
    reason: str = typer.Option(None, "--reason", "-r", help="Why: kept in the audit trail."),
    as_json: bool = typer.Option(False, "--json", help="Print the audit entry as JSON."),
) -> None:
    """Put back the version that was in Production before the current one."""
    entry = registry(ctx).rollback(reason=reason)
    if as_json:
        print_json({"changed": True, "entry": entry.to_dict()})
    else:
        console.print(_describe_change(entry))


@app.command("history")
def history(
    ctx: typer.Context,
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Newest N entries."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    verify: bool = typer.Option(
        False,
        "--verify",
        help="Check the trail's hash chain; exit 1 if an entry was edited, deleted or inserted.",
    ),
) -> None:
    """The audit trail: every stage change, newest first, and aliases changed outside edm.

    With --json, a list of entries; with --verify --json, an object with the entries, the
    alias drift and the verification.
    """
    reg = registry(ctx)
    entries = reg.history(limit=limit)
    drift = reg.alias_drift()
    verification = reg.verify_history() if verify else None
    if as_json:
        if verification is None:
            print_json([entry.to_dict() for entry in entries])
        else:
            print_json(
                {
                    "entries": [entry.to_dict() for entry in entries],
                    "drift": [d.to_dict() for d in drift],
                    "verification": verification.to_dict(),
                }
            )
    else:
        if entries:
            console.print(_audit_table("Stage changes", entries))
        else:
            console.print("No stage changes recorded yet.")
        for record in reg.version_records(100):
            if record.tags.get("edm.parent_version") or record.tags.get("edm.parent_ref"):
                console.print(
                    f"Lineage: {plain(_lineage(reg, record))}", highlight=False, soft_wrap=True
                )
        for found in drift:
            console.print(
                f"[bold yellow]Not in the trail:[/] {plain(found)} "
                "(recorded by the next promote, rollback or 'edm models repair')",
                highlight=False,
            )
        if verification is not None and verification.ok:
            console.print(
                f"Audit trail verified: {verification.entries} entries, the chain is whole.",
                highlight=False,
            )
    if verification is not None and not verification.ok:
        for problem in verification.problems:
            output.print_error(f"audit trail {problem}")
        raise typer.Exit(1)


@app.command("repair")
def repair(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Finish stage changes a crash left half-done and record alias changes made outside edm.

    Exit 1 when damage remains that repair cannot undo: an audit trail whose entries were
    edited, deleted or inserted (see 'edm models history --verify').
    """
    reg = registry(ctx)
    settled = reg.repair()
    verification = reg.verify_history()
    if as_json:
        print_json(settled.to_dict() | {"verification": verification.to_dict()})
    else:
        for held in settled.broken_locks:
            console.print(f"Broke a stale promotion lock: {plain(held)}", highlight=False)
        for entry in settled.finished:
            console.print("Finished a crashed change. " + _describe_change(entry))
        for entry in settled.external:
            console.print("Recorded a change made outside edm. " + _describe_change(entry))
        if not settled.anything:
            console.print("Nothing to repair: no unfinished change, the aliases match the trail.")
    if not verification.ok:
        for problem in verification.problems:
            output.print_error(f"audit trail {problem}")
        raise typer.Exit(1)


@app.command("compare")
def compare(
    ctx: typer.Context,
    v1: int = typer.Argument(..., help="First version."),
    v2: int = typer.Argument(..., help="Second version."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Params and metrics of two versions side by side; differences are marked."""
    from rich.table import Table

    comparison = registry(ctx).comparison(v1, v2)
    if as_json:
        print_json(comparison.to_dict())
        return
    left, right = comparison.left, comparison.right
    for title, rows in (("Metrics", comparison.metrics), ("Params", comparison.params)):
        table = Table(title=title, title_justify="left")
        table.add_column("")
        table.add_column("Name")
        table.add_column(f"v{left.version} ({left.stage.value})")
        table.add_column(f"v{right.version} ({right.stage.value})")
        for row in rows:
            mark = "[bold yellow]≠[/]" if row.differs else ""
            style = "bold" if row.differs else None
            table.add_row(
                mark,
                plain(row.name),
                format_number(row.left),
                format_number(row.right),
                style=style,
            )
        console.print(table)
    for record in (left, right):
        console.print(
            f"v{record.version}: {plain(_review_line(record.metrics))}; "
            f"{plain(_lineage_of_tags(record.version, record.tags))}",
            highlight=False,
        )


def _review_line(metrics: Mapping[str, float]) -> str:
    from edm.review.stats import review_summary

    return review_summary(metrics) or "not reviewed (edm review stats --log)"


def _lineage_of_tags(version: int, tags: Mapping[str, str]) -> str:
    parent = tags.get("edm.parent_version") or tags.get("edm.parent_ref")
    data = [
        f"{tags[f'data.{i}.dir']} x{tags.get(f'data.{i}.weight', '1')} "
        f"({tags.get(f'data.{i}.hash', '?')})"
        for i in range(int(tags.get("data_folders", "0") or 0))
        if f"data.{i}.dir" in tags
    ]
    text = f"fine-tuned from {parent}" if parent else "trained from scratch"
    return text + (f" on {', '.join(data)}" if data else "")


def _lineage(reg: Any, record: Any) -> str:
    """v5 <- v3 <- v1: the chain of parents, each fine-tuned from the next."""
    chain, seen = [f"v{record.version}"], {record.version}
    tags = record.tags
    while (parent := tags.get("edm.parent_version", "")).isdigit() and int(parent) not in seen:
        seen.add(int(parent))
        chain.append(f"v{parent}")
        found = reg.version_record(int(parent))
        if found is None:
            chain[-1] += " (missing)"
            break
        tags = found.tags
    if len(chain) == 1:
        return _lineage_of_tags(record.version, record.tags)
    return " <- ".join(chain) + "; " + _lineage_of_tags(record.version, record.tags)


@app.command("load-production")
def load_production(
    ctx: typer.Context,
    output_dir: Path = typer.Option(Path("downloads"), "--output", "-o", help="Where to download."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Download the current Production checkpoint."""
    reg = registry(ctx)
    path = reg.load_production_model(output_dir)
    if path is None:
        raise NoProductionModelError(f"no version of '{reg.model_name}' is in Production")
    if as_json:
        print_json({"version": reg.stage_holders().production, "checkpoint": str(path)})
        return
    console.print(plain(path), highlight=False, soft_wrap=True)


def _describe_change(entry: AuditEntry) -> str:
    from edm.registry.stages import Stage

    to_stage = styled_stage(entry.to_stage.value)
    text = f"Version {entry.version}: {entry.from_stage.value} → {to_stage}"
    if entry.action == "rollback":
        text = "Rolled back. " + text
    elif entry.action == "external":
        text += " [bold yellow](outside edm)[/]"
    if entry.forced:
        text += " [bold yellow](forced)[/]"
    if entry.displaced_version is not None:
        fate = Stage.ARCHIVED if entry.to_stage == Stage.PRODUCTION else Stage.NONE
        text += f" (version {entry.displaced_version} → {styled_stage(fate.value)})"
    return text


def _key_value_table(title: str, values: Mapping[str, Any]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("Name", style="dim")
    table.add_column("Value")
    for key in sorted(values):
        table.add_row(plain(key), format_number(values[key]))
    if not values:
        table.add_row("-", "-")
    return table


def _audit_table(title: str, entries: Sequence[AuditEntry]) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("When (UTC)", "Version", "Change", "Action", "User", "Reason"):
        table.add_column(column)
    for e in entries:
        change = f"{e.from_stage.value} → {styled_stage(e.to_stage.value)}"
        if e.displaced_version is not None:
            change += f" (v{e.displaced_version} out)"
        action = e.action + (" (forced)" if e.forced else "")
        table.add_row(
            human_time(e.timestamp),
            str(e.version),
            change,
            action,
            plain(e.user),
            plain(e.reason or ""),
        )
    if not entries:
        table.add_row("-", "-", "no stage changes", "", "", "")
    return table
