"""Store an evaluation on the run of the model version it evaluated.

The aggregates become ``test_*`` metrics of that run, which is where the promotion gate and
``edm models compare`` look; the per-track table becomes the artifact
``evaluation/per_track.json``. Only the registry's public API is used: the run is reopened
with ``start_run(resume_run_id=...)``, which ends it FINISHED again (FAILED if logging fails).
"""

from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import EdmError, ModelVersionNotFoundError, RegistryError
from edm.evaluation.evaluate import EvaluationReport

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

ARTIFACT_DIR = "evaluation"
PER_TRACK_FILE = "per_track.json"


def log_evaluation(registry: ModelRegistry, version: int, report: EvaluationReport) -> str:
    """Log ``report`` onto the run of ``version``; returns that run's id."""
    run_id = _run_of_version(registry, version)
    with tempfile.TemporaryDirectory(prefix="edm-evaluation-") as folder:
        per_track = Path(folder) / PER_TRACK_FILE
        per_track.write_text(json.dumps(report.to_dict(), indent=2, default=_plain))
        with registry.start_run(f"evaluation of version {version}", resume_run_id=run_id) as run:
            run.log_metrics(report.logged_metrics())
            run.set_tags(
                {
                    "edm.evaluation.data_dir": str(report.data_dir),
                    "edm.evaluation.dataset_hash": _dataset_hash(report.data_dir),
                    "edm.evaluation.n_tracks": len(report.tracks),
                    "edm.evaluation.time": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            )
            run.log_artifact(per_track, ARTIFACT_DIR)
    return run_id


def _run_of_version(registry: ModelRegistry, version: int) -> str:
    record = registry.version_record(version)
    if record is None:
        raise ModelVersionNotFoundError(registry.model_name, version)
    if not record.run_id:
        raise RegistryError(
            f"version {version} of '{registry.model_name}' has no run to log the evaluation on"
        )
    return record.run_id


def _dataset_hash(data_dir: Path) -> str:
    from edm.data.lineage import dataset_hash

    try:
        return dataset_hash(data_dir)
    except (OSError, EdmError):  # lineage is a nice-to-have here, never a reason to lose scores
        return "unknown"


def _plain(value: object) -> object:
    return str(value)
