"""``edm review …``: how much reviewers changed each version's answers, and what to review next.

A thin shell over :mod:`edm.review`.
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from edm.cli.output import console, err_console, plain, print_json
from edm.errors import DataError

app = typer.Typer(
    help="Review metrics per version, and the review queue for edm annotate.",
    no_args_is_help=True,
)


@app.command("stats")
def stats(
    ctx: typer.Context,
    folders: list[Path] = typer.Argument(None, help="Annotation folders (default: .)."),
    log: bool = typer.Option(
        False, "--log", help="Write each version's review_* metrics onto its run."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Compare reviewed files with the proposal they started from, per proposing version:
    boundary F at 0.5 s and 3 s, labels, BPM within 4 %, downbeat offset, edits, seconds."""
    from edm.review.stats import SCORES, log_review_stats, review_stats

    folders = folders or [Path(".")]
    for folder in folders:
        if not folder.is_dir():
            raise DataError(f"{folder}: annotation folder not found")
    result = review_stats(folders)
    logged: list[int] = []
    if log:
        from edm.cli.context import registry

        logged = log_review_stats(registry(ctx), result, folders)
    if as_json:
        print_json(
            {
                "versions": [v.to_dict() for v in result.versions],
                "reviewed_without_proposal": result.reviewed_without_proposal,
                "unreadable": [{"file": f, "error": e} for f, e in result.unreadable],
                "logged": logged,
            }
        )
        return
    if not result.versions:
        console.print("No reviewed track keeps the proposal it started from.")
    else:
        from rich.table import Table

        table = Table(title="Review metrics per version", title_justify="left")
        table.add_column("Model version")
        table.add_column("Tracks", justify="right")
        for name in SCORES:
            table.add_column(name, justify="right")
        for version in result.versions:
            means = version.means
            table.add_row(
                plain(version.proposed_by),
                str(len(version.tracks)),
                *("-" if math.isnan(means[n]) else f"{means[n]:.3f}" for n in SCORES),
            )
        console.print(table)
    if result.reviewed_without_proposal:
        console.print(
            f"{len(result.reviewed_without_proposal)} reviewed file(s) without a kept "
            "proposal: not scored",
            highlight=False,
        )
    for name, error in result.unreadable:
        err_console.print(f"[yellow]unreadable:[/] {plain(name)}: {plain(error)}", highlight=False)
    for version in logged:
        console.print(f"Logged review metrics on version {version}.", highlight=False)


def _proposals_folder(folder: Path) -> Path:
    """FOLDER itself, or the last batch's proposals when FOLDER is an edm batch OUT."""
    from edm.data.review_queue import latest_proposals

    proposals = latest_proposals(folder)
    if proposals is not None:
        return proposals
    if any(folder.glob("*.parquet")) and not any(folder.rglob("*.yaml")):
        raise DataError(
            f"{folder}: batch results without proposals to review: run edm batch analyze "
            "with --format yaml"
        )
    return folder


@app.command("queue")
def queue(
    ctx: typer.Context,
    folder: Path = typer.Argument(
        ...,
        help="Folder of proposals, or the OUT of edm batch analyze --format yaml (its last "
        "batch's proposals).",
    ),
    model: str = typer.Option(
        None,
        "--model",
        "-m",
        help="Version whose drift reference (its training tracks) measures drift; default "
        "the version that proposed most tracks, if it has one.",
    ),
    limit: int = typer.Option(None, "--limit", "-n", min=1, help="Keep the first N."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Order the tracks still to review by the model's confidence and by drift from its data,
    and write the list edm annotate opens in that order (FOLDER/.edm-review-queue)."""
    from edm.data.review_queue import write_queue
    from edm.review.queue import review_queue

    if not folder.is_dir():
        raise DataError(f"{folder}: folder not found")
    folder, given = _proposals_folder(folder), folder
    if folder != given and not as_json:
        console.print(f"Proposals of the last batch: {plain(folder)}", highlight=False)
    items, unreadable = review_queue(folder)
    reference, version = _reference(ctx, model, [i.source for i in items])
    if reference is not None:
        items, unreadable = review_queue(folder, reference)
    items = items[:limit] if limit else items
    path = write_queue(
        folder,
        [i.track for i in items],
        comment="edm review queue: most worth reviewing first (1 - confidence + drift)",
    )
    if as_json:
        print_json(
            {
                "queue_file": str(path),
                "drift_reference_version": version,
                "tracks": [i.to_dict() for i in items],
                "unreadable": [{"file": f, "error": e} for f, e in unreadable],
            }
        )
        return
    for rank, item in enumerate(items, start=1):
        console.print(
            f"{rank:3d}. {plain(item.track)}  confidence {item.confidence:.2f}  "
            f"drift {item.drift:.2f}",
            highlight=False,
        )
    drift = f"drift against version {version}" if version else "no drift reference"
    console.print(
        f"Wrote {plain(path)} ({len(items)} tracks; {drift}): edm annotate opens them in order.",
        highlight=False,
        soft_wrap=True,
    )


def _reference(
    ctx: typer.Context, model: str | None, sources: list[str]
) -> tuple[dict[str, list[float]] | None, int | None]:
    """The drift reference of --model, or of the version that proposed most tracks (none
    when that version is not in this store or has no reference)."""
    from collections import Counter

    from edm.cli.context import registry
    from edm.errors import EdmError
    from edm.review.changes import ProposedBy

    store = registry(ctx)
    if model is not None:
        from edm.registry.refs import resolve_model

        version = resolve_model(model, lambda: store).version
        if version is None:
            return None, None
    else:
        proposers = Counter(p for p in map(ProposedBy.parse, sources) if p is not None)
        if not proposers:
            return None, None
        proposer = proposers.most_common(1)[0][0]
        if proposer.model_name != store.model_name:
            return None, None
        version = proposer.version
    try:
        document = store.drift_reference(version)
    except EdmError:
        if model is not None:
            raise
        return None, None
    if not document:
        return None, version
    return dict(document.get("features") or {}), version
