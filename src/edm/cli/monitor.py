"""``edm monitor drift DATA_DIR``: does this audio still look like the model's evaluation set?"""

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

app = typer.Typer(help="Watch a model's input and output: drift against its reference.")

STATUS_STYLES = {"ok": "green", "warn": "yellow", "drift": "bold red", "insufficient": "dim"}


@app.command("drift")
def drift(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Folder of audio files (any depth)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    reference_file: Path = typer.Option(
        None,
        "--reference",
        help="A drift reference JSON file to compare with, instead of the one stored on the "
        "version by `edm evaluate --log` (needed for a local .pt).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    cache: bool = typer.Option(False, "--cache/--no-cache", help="Use the feature cache."),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
) -> None:
    """Compare the descriptors of DATA_DIR's audio and of the model's answers on it (duration,
    loudness, spectral centroid, onset rate; BPM, sections, confidence, label shares) with the
    version's reference: PSI over the reference's quantiles and a KS test per feature.

    A feature drifts when PSI > 0.2 and the KS p-value < 0.05; warn when either one says so.

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
    if as_json:
        about = {"model": resolved.describe(), "reference": _about(reference)}
        print_json(about | result.to_dict())
    else:
        _print_table(result, resolved, reference)
    if result.drifted:
        raise typer.Exit(DRIFT_EXIT_CODE)


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
            f"{resolved.describe()} has no drift reference: store one with "
            f"`edm evaluate DATA_DIR --model {resolved.version} --log`, or give --reference FILE"
        )
    return DriftReference.from_dict(document, f"the drift reference of {resolved.describe()}")


def _about(reference: DriftReference) -> dict[str, object]:
    return {
        "created": reference.created,
        "model": reference.model,
        "data_dir": reference.data_dir,
        "n_tracks": reference.n_tracks,
    }


def _print_table(result: FolderDrift, resolved: ResolvedModel, reference: DriftReference) -> None:
    from rich.table import Table

    table = Table(
        title=f"{plain(result.folder)} ({len(result.analysed)} files) against the reference of "
        f"{plain(resolved.describe())} ({reference.n_tracks} tracks, {plain(reference.created)})",
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
