"""What a training produced, for a pipeline to read instead of scraping the CLI's sentences:
``OUTPUT/RUN/run.json`` (and ``edm train --json``, which prints the same document).

Epochs count from 1 here, as the CLI and the run's metric steps do.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from edm.atomic import write_text_atomically

if TYPE_CHECKING:
    from edm.training.pipeline import TrainingJob

RUN_FILE = "run.json"


def run_summary(job: TrainingJob, *, model_name: str | None = None) -> dict[str, Any]:
    """Run id, version (and its models:/ URI), metrics, checkpoints and track counts."""
    result = job.result
    best = next((e for e in result.history if e.get("epoch") == result.best_epoch), {})
    metrics = {key: value for key, value in best.items() if key != "epoch"}
    metrics |= {"best_val_loss": result.best_val_loss, "best_epoch": result.best_epoch + 1}
    version = result.model_version
    return {
        "run_name": result.run_name,
        "run_id": result.run_id,
        "model_name": model_name if version is not None else None,
        "model_version": version,
        "model_uri": f"models:/{model_name}/{version}" if version and model_name else None,
        "metrics": metrics,
        "best_val_loss": result.best_val_loss,
        "best_epoch": result.best_epoch + 1,
        "epochs_run": result.epochs_run,
        "stopped_early": result.stopped_early,
        "best_checkpoint": str(result.best_checkpoint),
        "last_checkpoint": str(result.last_checkpoint),
        "tracks": {
            "train": job.n_train_tracks,
            "validation": job.n_val_tracks,
            "excluded": job.n_excluded_tracks,
        },
    }


def write_run_summary(job: TrainingJob, *, model_name: str | None = None) -> dict[str, Any]:
    """Write :func:`run_summary` to ``OUTPUT/RUN/run.json``; returns it, with ``run_file``."""
    path = job.result.output_dir / RUN_FILE
    summary = run_summary(job, model_name=model_name) | {"run_file": str(path)}
    write_text_atomically(path, json.dumps(summary, indent=2, sort_keys=True) + "\n")
    return summary
