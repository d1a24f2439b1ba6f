"""``edm analyze FILE...``: beats, bars, sections, labels and energy of audio files.

Batch mode: a file that cannot be analysed (not audio, empty, truncated) gets one error line
naming it and the others go on; the exit code is 1 at the end if any file failed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from edm.atomic import write_text_atomically
from edm.cli import context
from edm.cli.output import console, err_console, plain, print_error, print_json
from edm.cli.tempo_options import MAX_BPM_HELP, MIN_BPM_HELP
from edm.errors import ConfigError, EdmError

if TYPE_CHECKING:
    from edm.data.annotations import Annotation
    from edm.decoding.structure import TrackStructure
    from edm.inference.pipeline import Analysis
    from edm.registry.refs import ResolvedModel

MODEL_HELP = (
    "Model: a version number, Production (default), Staging, latest (the newest version), "
    "models:/NAME/VERSION, "
    "models:/NAME@ALIAS, or a local .pt checkpoint."
)


class AnnotationSchema(StrEnum):
    edm = "edm"
    annotator = "annotator"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


def analyze(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(
        ..., help="Audio files (WAV, AIFF, FLAC, OGG, Opus, MP3, M4A/AAC)."
    ),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    output_format: OutputFormat = typer.Option(
        OutputFormat.table, "--format", "-f", help="table, json, or yaml (the annotation schema)."
    ),
    schema: AnnotationSchema = typer.Option(
        AnnotationSchema.edm,
        "--schema",
        help="With --format yaml: edm (ours) or annotator (the spec project's form, tier 3, "
        "flagged needs_review, for its annotator to open).",
    ),
    output: Path = typer.Option(
        None,
        "--output",
        "-o",
        help="Write FILE.json / FILE.yaml (and plots) into this folder instead of stdout.",
    ),
    plot: bool = typer.Option(
        False, "--plot", help="Also write FILE.png (into --output, else the current folder)."
    ),
    cache: bool = typer.Option(
        False, "--cache/--no-cache", help="Keep the features in the feature cache."
    ),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, cuda:N or auto."),
    min_bpm: float = typer.Option(None, "--min-bpm", help=MIN_BPM_HELP),
    max_bpm: float = typer.Option(None, "--max-bpm", help=MAX_BPM_HELP),
    as_json: bool = typer.Option(
        False, "--json", help="Print JSON (the same as --format json, as in every command)."
    ),
) -> None:
    """Find the structure of audio files with a trained model."""
    from edm.decoding.decode import DecodeParams
    from edm.inference.pipeline import File2Structure
    from edm.inference.version_decoding import with_version_settings

    if as_json:
        if output_format is OutputFormat.yaml:
            raise ConfigError("--json and --format yaml ask for two forms: give one")
        output_format = OutputFormat.json
    if schema is AnnotationSchema.annotator and output_format is not OutputFormat.yaml:
        raise ConfigError("--schema annotator needs --format yaml")
    decode_params = DecodeParams().with_bpm_range(min_bpm, max_bpm)
    resolved = context.resolve_model(ctx, model)
    if resolved.from_registry:  # the version's own decoding settings (model_config)
        decode_params = with_version_settings(resolved.path, decode_params)
    analyzer = File2Structure.from_checkpoint(
        resolved.path, device=device, cache=cache, decode_params=decode_params
    )
    names = _unique_stems(files)
    documents: list[dict[str, Any]] = []
    failed = 0
    for path, stem in zip(files, names, strict=True):
        try:
            with _progress(path) as on_progress:
                analysis = analyzer.analyze(path, on_progress)
            _emit(analysis, stem, resolved, output_format, output, documents, schema)
            if plot:
                from edm.inference.plot import plot_structure

                target = (output or Path.cwd()) / f"{stem}.png"
                plot_structure(analysis.structure, analysis.activations, target, title=path.name)
                err_console.print(f"Plot: {plain(target)}", highlight=False, soft_wrap=True)
        except EdmError as exc:
            failed += 1
            print_error(str(exc) if str(path) in str(exc) else f"{path}: {exc}")
        except OSError as exc:  # writing its result failed (a full disk, a read-only folder)
            failed += 1
            print_error(f"{path}: cannot write {exc.filename or 'output'}: {exc.strerror or exc}")
    if documents:
        if output_format is OutputFormat.json:
            print_json({"model": resolved.describe(), "tracks": documents})
        else:
            print("\n---\n".join(d["yaml"] for d in documents), end="")
    if failed:
        err_console.print(
            f"{failed} of {len(files)} file{'s' if len(files) > 1 else ''} could not be analysed",
            style="red",
            highlight=False,
        )
        raise typer.Exit(1)


def _emit(
    analysis: Analysis,
    stem: str,
    resolved: ResolvedModel,
    output_format: OutputFormat,
    output: Path | None,
    documents: list[dict[str, Any]],
    schema: AnnotationSchema = AnnotationSchema.edm,
) -> None:
    """Render one result: a table now, or a file in ``output``, or a document for stdout."""
    structure = analysis.structure
    if output_format is OutputFormat.table:
        _print_table(analysis.path, structure)
        return
    if output_format is OutputFormat.json:
        document = {"file": str(analysis.path), "model": resolved.describe(), **structure.to_dict()}
        if output is None:
            documents.append(document)
            return
        import json

        output.mkdir(parents=True, exist_ok=True)
        target = output / f"{stem}.json"
        write_text_atomically(target, json.dumps(document, indent=2) + "\n")
        err_console.print(f"Wrote {plain(target)}", highlight=False, soft_wrap=True)
        return
    folder = output or Path.cwd()
    audio_file = os.path.relpath(analysis.path.resolve(), folder.resolve())
    if schema is AnnotationSchema.annotator:
        annotation = _annotator_annotation(structure, Path(audio_file).as_posix(), resolved)
    else:
        annotation = structure.to_annotation(
            Path(audio_file).as_posix(), source="edm analyze", model=resolved.describe()
        )
    from edm.data.annotations import annotation_to_yaml, save_annotation

    if output is None:
        documents.append({"yaml": annotation_to_yaml(annotation, schema=schema.value)})
        return
    target = output / f"{stem}.yaml"
    save_annotation(annotation, target, schema=schema.value)
    err_console.print(f"Wrote {plain(target)}", highlight=False, soft_wrap=True)


def _annotator_annotation(
    structure: TrackStructure, audio_file: str, resolved: ResolvedModel
) -> Annotation:
    """The spec project's form: tier 3, ``source: ml_model_<name>_v<N>``, needs review."""
    from datetime import UTC, datetime

    from edm.data.annotator_schema import model_source

    now = datetime.now(UTC).replace(microsecond=0)
    return structure.to_annotation(
        audio_file,
        source=model_source(resolved.model_name, resolved.version, resolved.path.stem),
        created=now,
        modified=now,
        notes=f"edm analyze with {resolved.describe()}",
        flags=["needs_review"],
    )


def _print_table(path: Path, structure: TrackStructure) -> None:
    from rich.table import Table

    bpm = f"{structure.bpm:.2f} BPM" if structure.bpm is not None else "no beat found"
    sure = f", confidence {structure.confidence.overall:.2f}" if structure.confidence else ""
    table = Table(
        title=f"{plain(path)}  {bpm}, {structure.duration:.1f} s, {len(structure.beats)} beats, "
        f"{len(structure.downbeats)} bars{sure}",
        title_justify="left",
    )
    for column in ("#", "Start", "End", "Label", "Conf.", "Low", "Mid", "High"):
        table.add_column(column, justify="left" if column == "Label" else "right")
    for number, section in enumerate(structure.sections, start=1):
        low, mid, high = section.energy
        table.add_row(
            str(number),
            _clock(section.start),
            _clock(section.end),
            plain(section.label),
            f"{section.confidence:.2f}",
            f"{low:.2f}",
            f"{mid:.2f}",
            f"{high:.2f}",
        )
    console.print(table)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}:{rest:05.2f}"


def _unique_stems(files: list[Path]) -> list[str]:
    """Output names: the file's stem, numbered when two inputs share one (a/x.wav, b/x.wav)."""
    seen: dict[str, int] = {}
    names = []
    for path in files:
        count = seen.get(path.stem, 0) + 1
        seen[path.stem] = count
        names.append(path.stem if count == 1 else f"{path.stem}-{count}")
    return names


@contextmanager
def _progress(path: Path) -> Iterator[Any]:
    """A progress bar over the model's windows on a terminal's stderr; nothing otherwise (a
    log or a pipe gets the results and the error lines only)."""
    if not err_console.is_terminal:
        yield None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("windows"),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    ) as progress:
        task = progress.add_task(f"Analysing {plain(path.name)}", total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_progress
