"""``edm batch analyze SOURCE --out OUT``: a registered version over a catalogue, on Spark."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edm.cli import context
from edm.cli.output import err_console, plain, print_json
from edm.cli.tempo_options import MAX_BPM_HELP, MIN_BPM_HELP

if TYPE_CHECKING:
    from edm.batch import BatchProgress, BatchSummary

app = typer.Typer(
    help="Analyse a whole catalogue of tracks on Apache Spark (local or a cluster).",
    no_args_is_help=True,
)

MODEL_HELP = (
    "Model: a version number, Production (default), Staging, latest (the newest version), "
    "models:/NAME/VERSION or "
    "models:/NAME@ALIAS; resolved to one version at the start."
)


BPM_HINT_NOTE = " For the tracks analysed in this run; those already done in OUT keep theirs."


class BatchFormat(StrEnum):
    parquet = "parquet"
    yaml = "yaml"


@app.command("analyze")
def analyze(
    ctx: typer.Context,
    source: str = typer.Argument(
        ...,
        help="A folder (searched recursively; local or s3://), a text file of paths, or a "
        "Parquet file with a 'path' column.",
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (Parquet, resumable)."),
    model: str = typer.Option(None, "--model", "-m", help=MODEL_HELP),
    master: str = typer.Option(
        "local[*]", "--master", help="Spark master: local[N], spark://…, yarn, k8s://…"
    ),
    partitions: int = typer.Option(
        None, "--partitions", help="Spark tasks per chunk (default: one per core)."
    ),
    chunk_size: int = typer.Option(
        None,
        "--chunk-size",
        help="Tracks per chunk, each written as one file (default: 8 per core). A killed job "
        "loses at most the chunks in flight.",
    ),
    output_format: BatchFormat = typer.Option(
        BatchFormat.parquet,
        "--format",
        "-f",
        help="parquet, or yaml: Parquet plus each track's annotation in the annotator form "
        "(tier 3, needs_review) under OUT/_annotations/.",
    ),
    refresh: bool = typer.Option(
        False,
        "--refresh",
        help="Re-analyse tracks whose result is of another version (after a promotion).",
    ),
    retry_failed: bool = typer.Option(
        False,
        "--retry-failed",
        help="Analyse again the tracks whose earlier result is an error (otherwise an "
        "unchanged file keeps its error, and still counts as failed).",
    ),
    min_bpm: float = typer.Option(None, "--min-bpm", help=MIN_BPM_HELP + BPM_HINT_NOTE),
    max_bpm: float = typer.Option(None, "--max-bpm", help=MAX_BPM_HELP + BPM_HINT_NOTE),
    python: str = typer.Option(
        None,
        "--python",
        help="The executors' Python, with edm installed, at this path on every worker "
        "(default: this one on a local master, else Spark's spark.pyspark.python).",
    ),
    python_env: str = typer.Option(
        None,
        "--python-env",
        help="A packed environment with edm (venv-pack -o env.tar.gz; .tar.gz, .tgz or .zip, "
        "local or hdfs:// s3a://…) shipped with the job as spark.archives; the executors run "
        "its Python. Instead of --python.",
    ),
    driver_host: str = typer.Option(
        None,
        "--driver-host",
        help="The address of this host that executors connect back to (default: the one that "
        "routes to the master).",
    ),
    shared_paths: list[str] = typer.Option(
        [],
        "--shared-path",
        help="A folder every worker mounts at the same path (repeatable): a local SOURCE on a "
        "cluster must be under one.",
    ),
    executor_wait: float = typer.Option(
        120.0,
        "--executor-wait",
        help="Seconds to wait for the first executor on a cluster before giving up.",
    ),
    conf: list[str] = typer.Option(
        [], "--conf", help="A Spark setting KEY=VALUE (repeatable), e.g. spark.executor.memory=4g."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
) -> None:
    """Run the model over every track of SOURCE; one Parquet row per track in OUT.

    A re-run skips tracks already done (same content hash); a killed run picks up where it stopped. Progress goes to stderr.
    """  # noqa: E501 (Typer keeps a docstring's line breaks in --help)
    from edm.batch import BatchOptions, run_batch

    options = BatchOptions(
        source=source,
        out=out,
        model=model,
        master=master,
        partitions=partitions,
        chunk_size=chunk_size,
        write_yaml=output_format is BatchFormat.yaml,
        refresh=refresh,
        retry_failed=retry_failed,
        min_bpm=min_bpm,
        max_bpm=max_bpm,
        python=python,
        python_env=python_env,
        driver_host=driver_host,
        shared_paths=tuple(shared_paths),
        executor_wait_s=executor_wait,
        spark_conf=_spark_conf(conf),
    )
    err_console.print(f"Listing {plain(source)} for Spark on {plain(master)}…", highlight=False)
    summary = run_batch(
        options,
        lambda: context.registry(ctx),
        on_progress=_show_progress,
        address=context.registry_address(ctx),
    )
    _print_summary(summary, as_json)
    if summary.failed:
        raise typer.Exit(1)


def _spark_conf(values: list[str]) -> dict[str, str]:
    from edm.errors import ConfigError

    settings = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--conf {value!r}: expected KEY=VALUE")
        settings[key.strip()] = setting
    return settings


def _show_progress(progress: BatchProgress) -> None:
    eta = "-" if progress.eta_s is None else _clock(progress.eta_s)
    line = (
        f"{progress.processed}/{progress.total} tracks, {progress.rate:.2f}/s, ETA {eta}"
        f" ({progress.failed} failed, {progress.skipped} skipped)"
    )
    if err_console.is_terminal:
        err_console.print(f"\r{line}", end="", highlight=False, soft_wrap=True)
    else:
        err_console.print(line, highlight=False, soft_wrap=True)


def _print_summary(summary: BatchSummary, as_json: bool) -> None:
    if err_console.is_terminal:
        err_console.print()
    if as_json:
        print_json(summary.to_dict())
        return
    style = "red" if summary.failed else "green"
    counts = (
        f"[{style}]{summary.analysed} analysed, {summary.failed} failed, {summary.skipped} "
        f"skipped[/] of {summary.tracks} tracks with version {summary.model_version} of "
        f"'{plain(summary.model_name)}' in {summary.wall_s:.1f} s"
    )
    if summary.run_id is not None:
        counts += (
            f" ({summary.tracks_per_second:.2f} tracks/s; "
            f"Spark start {summary.spark_start_s:.1f} s)"
        )
    else:
        counts += ": nothing to analyse, Spark not started"
    _say(counts)
    _print_failures(summary)
    if summary.stale:
        _say(
            f"{summary.stale} skipped tracks have results of another version: --refresh "
            f"re-analyses them with version {summary.model_version}"
        )
    run = f"MLflow run {summary.run_id}" if summary.run_id else "no run logged"
    _say(f"Results: {plain(summary.out)} ({run})")


def _print_failures(summary: BatchSummary, shown: int = 10) -> None:
    if not summary.failures:
        return
    _say("Failed:")
    for failure in summary.failures[:shown]:
        earlier = " (an earlier run's result; --retry-failed tries again)" * failure["earlier"]
        _say(f"  {plain(failure['path'])}: {plain(failure['error'])}{earlier}")
    if len(summary.failures) > shown:
        _say(f"  … and {len(summary.failures) - shown} more (--json lists them all)")


def _say(text: str) -> None:
    err_console.print(text, highlight=False, soft_wrap=True)


def _clock(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"
