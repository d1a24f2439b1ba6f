"""``run_batch``: a registered version over a catalogue of tracks, on Spark, resumable.

1. List SOURCE (the driver only lists) and resolve ``--model`` to one fixed version, once.
2. Read OUT and plan (``edm.batch.plan``): a track whose result counts as done and whose file
   is unchanged is skipped in the driver; with nothing left, no Spark, no model, no run.
   Without ``--model`` or ``refresh`` any earlier result counts (a promotion alone re-runs
   nothing); with them, only a result of the version resolved.
3. Cut the rest into chunks; each chunk is one Spark job (one task per core by default)
   whose rows land as one Parquet file, atomically (``edm.batch.results``). Two chunks are in
   flight at a time, so the cores never wait for a chunk's last track.
4. Log everything on an MLflow run in the ``edm-batch`` experiment, the listing as its dataset.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.audio.io import SUPPORTED_FORMATS
from edm.batch import driver_mark, results
from edm.batch.chunks import ChunkRunner, JobTarget
from edm.batch.cluster import check_reachable
from edm.batch.files import InputFile, is_s3
from edm.batch.job_model import export_network, mlflow_model_folder, resolve_version
from edm.batch.listing import list_inputs
from edm.batch.options import BatchOptions, BatchSummary
from edm.batch.plan import TrackPlan, plan_tracks
from edm.batch.progress import ChunkProgress, ProgressCallback
from edm.batch.readiness import check_executors
from edm.batch.shipping import ship_model
from edm.batch.spark import is_local, require_java, spark_session
from edm.batch.spark_errors import SparkFailures
from edm.errors import ConfigError
from edm.settings import redact_uri

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.registry.refs import RegistryAddress

LOG_FOLDER = "_logs"  # under OUT; '_' keeps it out of the Parquet dataset


def run_batch(
    options: BatchOptions,
    registry: Callable[[], ModelRegistry],
    *,
    session: Any = None,
    on_progress: ProgressCallback | None = None,
    progress_interval_s: float = 0.5,
    address: RegistryAddress | None = None,
) -> BatchSummary:
    """Run the job; ``session`` reuses a SparkSession (else one is made and stopped here);
    ``address`` lets a version downloaded before be found without MLflow."""
    started = time.perf_counter()
    out = _check_options(options)
    if session is None:
        require_java()
    listing = list_inputs(options.source)
    if not listing:
        formats = ", ".join(SUPPORTED_FORMATS)
        raise ConfigError(f"{options.source}: no audio files ({formats}) found")
    shared = check_reachable(listing, options.source, options.master, options.shared_paths)
    resolved = resolve_version(options.model, registry, address)
    version = int(resolved.version or 0)
    model_name = str(resolved.model_name)
    model_uri = f"models:/{model_name}/{version}"
    previous = driver_mark.read_mark(out)
    previous_alive = previous.alive() if previous is not None else None
    if previous is not None and previous_alive:
        raise ConfigError(
            f"{out}: another edm batch (process {previous.pid}) is writing here; wait for it "
            f"to end or stop it first (should that process be no edm batch, delete its mark "
            f"{out / driver_mark.MARK_NAME})"
        )
    plan = plan_tracks(
        listing,
        results.done_rows(out),
        version,
        this_version_only=options.model is not None or options.refresh,
        retry_failed=options.retry_failed,
    )
    source_text = redact_uri(options.source)
    if not plan.pending:  # nothing to read: no Spark, no model, no run
        return _summary(options, out, resolved, plan, len(listing), started, run_id=None)
    model_folder = mlflow_model_folder(resolved)
    export_network(resolved.path)
    out.mkdir(parents=True, exist_ok=True)  # only once the inputs and the model are known
    if previous is None or previous_alive is False:
        results.remove_abandoned_temporaries(out)

    tracking = resolved.registry.for_model(model_name) if resolved.registry else registry()
    from edm.registry import ModelRegistry

    batch_registry = ModelRegistry(
        tracking_uri=tracking.tracking_uri,
        experiment_name=options.experiment,
        model_name=model_name,
        download_dir=tracking.download_dir,
        promotion_gate=None,
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    log_file = out / LOG_FOLDER / f"batch-{stamp}.log"
    failures = SparkFailures(log_file, options.master, options.python)
    run_name = f"batch-{_source_name(options.source)}-v{version}-{stamp}"
    if previous is not None and previous_alive is False:
        batch_registry.end_abandoned_run(previous.run_id, f"edm batch resumed on {out}")
    with (
        batch_registry.start_run(run_name, {"edm.batch.model_uri": model_uri}) as run,
        driver_mark.marked(out, run.run_id),
    ):
        run.log_params(
            {
                "source": source_text,
                "out": str(out),
                "model_uri": model_uri,
                "model_version": version,
                "master": redact_uri(options.master),
                "partitions": options.partitions or "one per core",
                "refresh": options.refresh,
                "retry_failed": options.retry_failed,
                "min_bpm": options.min_bpm,
                "max_bpm": options.max_bpm,
                "format": "yaml" if options.write_yaml else "parquet",
            }
        )
        record = tracking.version_record(version)
        run.log_inputs(
            _listing_frame(listing),
            source=source_text,
            name=f"catalogue:{_source_name(options.source)}",
            model_id=record.model_id if record else None,
        )
        target = JobTarget(out, "", model_name, version, model_uri, run.run_id, shared)
        with tempfile.TemporaryDirectory(prefix="edm-batch-ship-") as staging:
            spark_started = time.perf_counter()
            own_session = session is None
            if own_session:
                session = _start_spark(options, failures)
            spark_start_s = time.perf_counter() - spark_started
            try:
                target = _ready(session, options, failures, target, model_folder, Path(staging))
                runner = ChunkRunner(options, target, session, failures, run.log_metrics)
                with ChunkProgress(
                    session, len(plan.pending), on_progress, progress_interval_s
                ) as progress:
                    written, annotations = runner.run(
                        plan.pending, progress, _source_root(options.source)
                    )
                    analysis_s = progress.elapsed_s
            finally:
                if own_session:
                    session.stop()
        duplicates = results.compact(out, version, f"{run.run_id}-compacted")
        summary = _summary(
            options,
            out,
            resolved,
            plan,
            len(listing),
            started,
            run_id=run.run_id,
            run_failures=runner.failures,
            run_skipped=runner.skipped_paths,
            chunks_written=written,
            duplicates_removed=duplicates,
            spark_start_s=spark_start_s,
            analysis_s=analysis_s,
            annotations_written=annotations,
        )
        run.log_metrics(
            {
                "tracks_total": summary.tracks,
                "tracks_done": summary.analysed,
                "tracks_failed": summary.failed,
                "tracks_skipped": summary.skipped,
                "tracks_per_second": summary.tracks_per_second,
                "spark_start_seconds": summary.spark_start_s,
                "wall_seconds": summary.wall_s,
            }
        )
    return summary


def _summary(
    options: BatchOptions,
    out: Path,
    resolved: Any,
    plan: TrackPlan,
    tracks: int,
    started: float,
    *,
    run_id: str | None,
    run_failures: list[tuple[str, str]] | None = None,
    run_skipped: set[str] | None = None,
    **figures: Any,
) -> BatchSummary:
    """The counts over the whole listing: the plan's (decided in the driver) and the run's."""
    run_skipped = run_skipped or set()
    failures = [{"path": p, "error": e, "earlier": False} for p, e in run_failures or []]
    failures += [{"path": p, "error": e, "earlier": True} for p, e in plan.failed]
    failures.sort(key=lambda failure: failure["path"])
    skipped = plan.skipped + len(run_skipped)
    version = int(resolved.version or 0)
    return BatchSummary(
        source=redact_uri(options.source),
        out=str(out),
        model_name=str(resolved.model_name),
        model_version=version,
        model_uri=f"models:/{resolved.model_name}/{version}",
        run_id=run_id,
        tracks=tracks,
        analysed=tracks - len(failures) - skipped,
        failed=len(failures),
        skipped=skipped,
        stale=plan.stale + len(run_skipped & plan.stale_candidates),
        failures=failures,
        wall_s=time.perf_counter() - started,
        **figures,
    )


def _start_spark(options: BatchOptions, failures: SparkFailures) -> Any:
    with failures.around(f"Spark did not start on {redact_uri(options.master)}"):
        return spark_session(
            options.master,
            python=options.python,
            python_env=options.python_env,
            driver_host=options.driver_host,
            conf=options.spark_conf,
            log_file=failures.log_file,
        )


def _ready(
    session: Any,
    options: BatchOptions,
    failures: SparkFailures,
    target: JobTarget,
    model_folder: Path,
    staging: Path,
) -> JobTarget:
    """The model shipped and, on a master of other hosts, executors checked before any chunk."""
    from dataclasses import replace

    with failures.around("the model could not be shipped to the executors"):
        location = ship_model(session, model_folder, staging)
    if not is_local(session.sparkContext.master):
        check_executors(
            session,
            failures,
            model_location=location,
            shared_paths=target.shared_paths,
            wait_s=options.executor_wait_s,
        )
    return replace(target, model_location=location)


def _check_options(options: BatchOptions) -> Path:
    if options.partitions is not None and options.partitions < 1:
        raise ConfigError(f"--partitions must be at least 1, got {options.partitions}")
    if options.chunk_size is not None and options.chunk_size < 1:
        raise ConfigError(f"--chunk-size must be at least 1, got {options.chunk_size}")
    if options.python and options.python_env:
        raise ConfigError(
            "--python and --python-env both name the executors' Python: give one of them"
        )
    _check_bpm_range(options.min_bpm, options.max_bpm)
    if options.executor_wait_s <= 0:
        raise ConfigError(f"--executor-wait must be positive, got {options.executor_wait_s:g}")
    if is_s3(str(options.out)):
        raise ConfigError(f"--out {options.out}: the output must be a local or mounted folder")
    out = Path(options.out).expanduser().resolve()
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {options.out}: a file is in the way (it must be a folder)")
    return out


def _check_bpm_range(min_bpm: float | None, max_bpm: float | None) -> None:
    """What DecodeParams.with_bpm_range checks on the executors, said here before Spark starts
    (without importing the decoder, which a re-run with nothing to do does not need)."""
    from edm.vocabulary import DEFAULT_MAX_BPM, DEFAULT_MIN_BPM

    low = DEFAULT_MIN_BPM if min_bpm is None else min_bpm
    high = DEFAULT_MAX_BPM if max_bpm is None else max_bpm
    if not 0 < low < high:
        raise ConfigError(f"--min-bpm {low:g} and --max-bpm {high:g} leave no tempo to find")


def _listing_frame(listing: list[InputFile]) -> Any:
    import pandas as pd

    return pd.DataFrame(
        {
            "path": [item.path for item in listing],
            "size_bytes": [item.size_bytes for item in listing],
        }
    )


def _source_name(source: str) -> str:
    name = Path(str(source).rstrip("/")).name or "catalogue"
    return name.replace(" ", "_")[:60]


def _source_root(source: str) -> str | None:
    if is_s3(source):
        return source.rstrip("/")
    path = Path(source).expanduser()
    return str(path.resolve()) if path.is_dir() else None
