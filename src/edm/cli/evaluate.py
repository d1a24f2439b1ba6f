"""``edm evaluate DATA_DIR``: score a model on annotated tracks (mir_eval), optionally log it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edm.cli import context
from edm.cli.analyze import MODEL_HELP
from edm.cli.data_options import (
    as_paths,
    audio_dir_option,
    min_confidence_option,
    min_tier_option,
    print_data_notes,
)
from edm.cli.output import console, files_progress, plain, print_json
from edm.errors import ConfigError

if TYPE_CHECKING:
    from edm.evaluation.evaluate import EvaluationReport

# (header, per-track key, format): short, so that the table fits an 80-column terminal.
TRACK_COLUMNS = (
    ("BPM", "bpm", "{:.1f}"),
    ("Ref", "reference_bpm", "{:.1f}"),
    ("Beat", "beat_f", "{:.2f}"),
    ("CMLt", "beat_cmlt", "{:.2f}"),
    ("AMLt", "beat_amlt", "{:.2f}"),
    ("Bar", "downbeat_f", "{:.2f}"),
    ("Bd .5s", "boundary_f_0.5", "{:.2f}"),
    ("Bd 3s", "boundary_f_3", "{:.2f}"),
    ("Label", "label_accuracy", "{:.2f}"),
    ("Energy", "energy_corr", "{:.2f}"),
)


def evaluate(
    ctx: typer.Context,
    data_dir: Path = typer.Argument(..., help="Folder of annotated tracks (audio + YAML)."),
    audio_dir: list[Path] = audio_dir_option(),
    min_tier: int = min_tier_option(),
    min_confidence: float = min_confidence_option(),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    log: bool = typer.Option(
        False,
        "--log/--no-log",
        help="Store the scores on the model version's run as test_* metrics, with the "
        "per-track table as artifact evaluation/per_track.json, and the tracks' descriptors "
        "as its drift reference when it has none (edm train records the training tracks'), "
        "monitoring/drift_reference.json (registry models only).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
    cache: bool = typer.Option(
        True, "--cache/--no-cache", help="Use the feature cache (as training does)."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
    heldout: bool = typer.Option(
        True,
        "--heldout/--all-tracks",
        help="In a folder split by 'edm data split', only its held-out tracks (the default).",
    ),
) -> None:
    """Per-track and mean scores: beats, downbeats, boundaries, labels, energy, BPM."""

    from edm.data.tracks import TrackSelection
    from edm.evaluation.evaluate import evaluate_dataset
    from edm.inference.pipeline import File2Structure

    resolved = context.resolve_model(ctx, model)
    if log and not resolved.from_registry:
        raise ConfigError(
            f"--log stores scores on a registry version's run; {resolved.path} is a local "
            "file: give --model VERSION, a stage or a models:/ URI, or use --no-log"
        )
    analyzer = File2Structure.from_checkpoint(resolved.path, device=device, cache=cache)
    with files_progress("Evaluating") as on_file:
        report = evaluate_dataset(
            data_dir,
            analyzer.analyze,  # an Analysis: its audio descriptors make the drift reference
            model=resolved.describe(),
            audio_dirs=as_paths(audio_dir),
            selection=TrackSelection(min_tier, min_confidence),
            on_track=on_file,
            heldout_only=heldout,
        )
    logged = None
    if log:
        from edm.evaluation.tracking import log_evaluation

        assert resolved.registry is not None and resolved.version is not None
        logged = log_evaluation(resolved.registry, resolved.version, report)

    if as_json:
        document = report.to_dict()
        document["aggregate"] = {k: _json_number(v) for k, v in report.aggregate.items()}
        document["tracks"] = [
            {k: _json_number(v) if isinstance(v, float) else v for k, v in row.items()}
            for row in report.tracks
        ]
        document["logged"] = (
            {
                "run_id": logged.run_id,
                "evaluation_run_id": logged.evaluation_run_id,
                "metrics": report.logged_metrics(),
            }
            if logged
            else None
        )
        print_json(document)
        return
    _print_report(report)
    print_data_notes(report.skipped, report.warnings)
    if logged:
        console.print(
            f"Logged {len(report.logged_metrics())} test_* metrics on {plain(resolved.describe())} "
            f"(run {logged.run_id}){_reference_note(logged.drift_reference)}, and "
            f"evaluation/per_track.json on its evaluation run {logged.evaluation_run_id}",
            highlight=False,
            soft_wrap=True,
        )


def _print_report(report: EvaluationReport) -> None:
    from rich.table import Table

    tracks = Table(
        title=f"{plain(report.model)} on {plain(report.data_dir)}",
        title_justify="left",
        caption="F-measures: beats and bars (downbeats) ±70 ms, boundaries ±0.5 s and ±3 s",
        caption_justify="left",
    )
    tracks.add_column("Track", overflow="fold")
    for title, _, _ in TRACK_COLUMNS:
        tracks.add_column(title, justify="right", no_wrap=True)
    for row in report.tracks:
        tracks.add_row(
            plain(row["track"]), *(_cell(row.get(key), style) for _, key, style in TRACK_COLUMNS)
        )
    console.print(tracks)

    means = Table(title=f"Mean over {len(report.tracks)} tracks", title_justify="left")
    means.add_column("Metric")
    means.add_column("Value", justify="right")
    for name, value in report.aggregate.items():
        means.add_row(plain(f"test_{name}"), _cell(value))
    console.print(means)


def _cell(value: object, style: str = "{:.3f}") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, int | float):
        return style.format(value)
    return plain(value)


def _json_number(value: float | None) -> float | None:
    """NaN is not JSON: an undefined score (no energy annotation) becomes null."""
    return None if value is None or math.isnan(value) else value


def _reference_note(stored: bool) -> str:
    if stored:
        return " with the tracks' descriptors as its drift reference (it had none)"
    return " (its drift reference, from its training tracks, stays as it is)"
