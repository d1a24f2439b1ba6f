"""``edm monitor drift DATA_DIR``: does this audio still look like what the model was trained
on? ``edm monitor reference --from-traffic DIR``: make recent Production traffic a version's
reference (audited)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edm.cli import context
from edm.cli.analyze import MODEL_HELP
from edm.cli.output import console, files_progress, plain, print_error, print_json
from edm.errors import ConfigError, DataError

if TYPE_CHECKING:
    from edm.monitoring.offline import FolderDrift
    from edm.monitoring.reference import DriftReference
    from edm.registry.refs import ResolvedModel

DRIFT_EXIT_CODE = 3

app = typer.Typer(
    help="Watch a model's input and output: drift against its reference, and the reference."
)

STATUS_STYLES = {"ok": "green", "warn": "yellow", "drift": "bold red", "insufficient": "dim"}


@app.command("drift")
def drift(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Folder of audio files (any depth)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    reference_file: Path = typer.Option(
        None,
        "--reference",
        help="A drift reference JSON file to compare with, instead of the version's own (its "
        "training tracks, recorded by edm train; needed for a local .pt).",
    ),
    queue: bool = typer.Option(
        True,
        "--queue/--no-queue",
        help="When a feature drifts, write the tracks furthest into the reference's tails on "
        "it to DATA_DIR/.edm-review-queue, which edm annotate DATA_DIR opens first.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    cache: bool = typer.Option(False, "--cache/--no-cache", help="Use the feature cache."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
) -> None:
    """Compare the descriptors of DATA_DIR's audio and of the model's answers on it (duration,
    loudness, spectral centroid, onset rate; BPM, sections, confidence, label shares) with the
    version's reference (its training tracks): PSI over the reference's quantiles and a KS
    test per feature.

    A feature drifts when PSI > 0.2 and the KS p-value < 0.05; warn when either one says so.
    Drift asks for review, not a rollback: the drifted tracks go to the review queue.

    A file that cannot be analysed is reported and the others go on.

    Exit code: 0 when no feature drifts, 3 when one does, 1 on an error.
    """

    from edm.inference.pipeline import File2Structure
    from edm.monitoring.offline import folder_drift

    resolved = context.resolve_model(ctx, model)
    reference = _reference(resolved, reference_file)
    analyzer = File2Structure.from_checkpoint(resolved.path, device=device, cache=cache)
    with files_progress("Analysing") as on_file:
        result = folder_drift(data_dir, analyzer.analyze, reference, on_file=on_file)
    for path, error in result.failed:
        print_error(error if str(path) in error else f"{path}: {error}")
    queued = _write_queue(result, reference, resolved) if queue else None
    if as_json:
        about = {"model": resolved.describe(), "reference": _about(reference)}
        print_json(about | result.to_dict() | {"review_queue": queued})
    else:
        _print_table(result, resolved, reference)
        if queued is not None:
            console.print(
                f"Wrote {plain(queued['file'])} ({len(queued['tracks'])} tracks furthest from the "
                "reference on the drifting features): edm annotate "
                f"{plain(result.folder)} opens them first.",
                highlight=False,
                soft_wrap=True,
            )
    if result.drifted:
        raise typer.Exit(DRIFT_EXIT_CODE)


@app.command("reference")
def reference(
    ctx: typer.Context,
    from_traffic: Path = typer.Option(
        ...,
        "--from-traffic",
        help="The folder edm serve --record-traffic writes: the version's recorded answers.",
    ),
    model: str = typer.Option(
        None, "--model", "-m", help="Version number (default: the version in Production)."
    ),
    last: int = typer.Option(500, "--last", min=1, help="Take the newest N recorded answers."),
    min_tracks: int = typer.Option(
        50, "--min-tracks", min=1, help="Refuse with fewer recorded answers than this."
    ),
    reason: str = typer.Option(None, "--reason", help="Why, for the audit trail."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Make what a version serves now its drift reference: the descriptors of its newest
    recorded Production answers replace the reference (its training tracks, or an earlier
    refresh), and the audit trail records who did it, when, why, and what it replaced.

    For when the music coming in has changed for good and a person has reviewed it: drift is
    then measured from the new normal. A running edm serve reads the new reference at its
    next poll (its drift window stays).
    """
    import tempfile

    from edm.monitoring.reference import FILE_NAME, DriftReference
    from edm.monitoring.traffic import recent_traffic
    from edm.registry.records import version_number

    registry = context.registry(ctx)
    if model is None:
        version = registry.stage_holders().production
        if version is None:
            raise ConfigError("no version is in Production: give --model VERSION")
    else:
        version = version_number(model, registry.model_name)
    traffic = recent_traffic(from_traffic, version, last)
    if len(traffic.rows) < min_tracks:
        raise DataError(
            f"{from_traffic}: {len(traffic.rows)} recorded answers of version {version}, "
            f"fewer than --min-tracks {min_tracks}: nothing changed"
        )
    before = registry.drift_reference(version)
    was = _described(before)
    new = DriftReference.from_tracks(
        traffic.rows, model=f"version {version}", data_dir=str(from_traffic), source="traffic"
    )
    why = (
        f"drift reference from traffic: {new.n_tracks} Production answers "
        f"{traffic.first} to {traffic.last}, replacing {was}"
    )
    if reason and reason.strip():
        why += f"; {reason.strip()}"
    with tempfile.TemporaryDirectory(prefix="edm-reference-") as folder:
        entry = registry.replace_drift_reference(version, new.write(Path(folder) / FILE_NAME), why)
    if as_json:
        print_json(
            {
                "version": version,
                "reference": _about(new),
                "first": traffic.first,
                "last": traffic.last,
                "replaced": was,
                "audit": entry.to_dict(),
            }
        )
        return
    console.print(
        f"Version {version}'s drift reference is now {new.n_tracks} recorded Production answers "
        f"({plain(traffic.first)} to {plain(traffic.last)}), replacing {plain(was)}. "
        f"Audited as #{entry.seq} by {plain(entry.user)}.",
        highlight=False,
        soft_wrap=True,
    )


def _described(document: object) -> str:
    if not isinstance(document, dict):
        return "no reference"
    features = document.get("features")
    n = document.get("n_tracks")
    if not isinstance(n, int) and isinstance(features, dict):
        n = max((len(v) for v in features.values() if isinstance(v, list)), default=0)
    source = document.get("source") or "an earlier reference"
    return f"{source} ({n} tracks, {document.get('created', '?')})"


def _write_queue(
    result: FolderDrift, reference: DriftReference, resolved: ResolvedModel
) -> dict[str, object] | None:
    """The drifted tracks as the folder's review queue (their would-be annotation files, as
    edm annotate names unannotated audio); None when nothing drifts."""
    from edm.data.review_queue import write_queue
    from edm.monitoring.offline import drifted_tracks

    tracks = drifted_tracks(result, reference)
    if not tracks:
        return None
    ids = [path.relative_to(result.folder).with_suffix(".yaml").as_posix() for path, _ in tracks]
    comment = (
        f"edm monitor drift: tracks furthest from the drift reference of {resolved.describe()} "
        f"on {', '.join(result.drifted)}, furthest first"
    )
    path = write_queue(result.folder, ids, comment=comment)
    return {
        "file": str(path),
        "tracks": [{"track": i, "tail": score} for i, (_, score) in zip(ids, tracks, strict=True)],
    }


def _reference(resolved: ResolvedModel, reference_file: Path | None) -> DriftReference:
    from edm.monitoring.reference import DriftReference

    if reference_file is not None:
        return DriftReference.read(reference_file)
    if not resolved.from_registry:
        raise ConfigError(
            f"{resolved.path} is a local checkpoint, which has no stored drift reference: "
            "give --reference FILE, or a registry version (--model VERSION)"
        )
    assert resolved.registry is not None and resolved.version is not None
    document = resolved.registry.drift_reference(resolved.version)
    if document is None:
        raise DataError(
            f"{resolved.describe()} has no drift reference (edm train records one): store one "
            f"with `edm evaluate DATA_DIR --model {resolved.version} --log`, or give "
            "--reference FILE"
        )
    return DriftReference.from_dict(document, f"the drift reference of {resolved.describe()}")


def _about(reference: DriftReference) -> dict[str, object]:
    return {
        "created": reference.created,
        "model": reference.model,
        "data_dir": reference.data_dir,
        "source": reference.source,
        "n_tracks": reference.n_tracks,
    }


def _print_table(result: FolderDrift, resolved: ResolvedModel, reference: DriftReference) -> None:
    from rich.table import Table

    table = Table(
        title=f"{plain(result.folder)} ({len(result.analysed)} files) against the reference of "
        f"{plain(resolved.describe())} ({_source(reference)}{reference.n_tracks} tracks, "
        f"{plain(reference.created)})",
        title_justify="left",
        caption="PSI over the reference's quantiles (0.1 warn, 0.2 drift); KS two-sample p-value",
        caption_justify="left",
    )
    for column in ("Feature", "Ref. mean", "Recent mean", "PSI", "p-value", "Status"):
        table.add_column(column, justify="left" if column in ("Feature", "Status") else "right")
    for feature in result.features:
        style = STATUS_STYLES.get(feature.status, "")
        table.add_row(
            plain(feature.feature),
            _number(feature.reference.mean),
            _number(feature.recent.mean),
            _number(feature.psi, "{:.3f}"),
            _number(feature.p_value, "{:.3g}"),
            f"[{style}]{feature.status}[/]" if style else feature.status,
        )
    console.print(table)
    if result.drifted:
        console.print(f"[bold red]Drift:[/] {plain(', '.join(result.drifted))}", highlight=False)
    else:
        console.print("No feature drifts.", highlight=False)


def _number(value: float | None, style: str = "{:.4g}") -> str:
    return "-" if value is None else style.format(value)


def _source(reference: DriftReference) -> str:
    names = {"training": "its training data, ", "traffic": "recorded traffic, "}
    return names.get(reference.source, f"{reference.source}, " if reference.source else "")
