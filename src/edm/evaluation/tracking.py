"""Store an evaluation with the model version it evaluated, all of it or none of it.

The evaluation gets its own run, a child of the version's training run (the MLflow UI nests it
there): per-track table ``evaluation/per_track.json``, the aggregates as ``test_*`` metrics,
what was evaluated as tags and as an MLflow dataset input of context ``evaluation`` keyed
by the data's digest (``edm.registry.evaluations``: the promotion gate compares versions on the
same digest, so evaluations on different data live side by side). A version with no drift
reference (one registered without ``edm train``, which records the training tracks') gets the
tracks' descriptors as its reference (``monitoring/drift_reference.json`` on its run, see
``edm.monitoring.reference``); one it has is never replaced by an evaluation set, which says
nothing of what the version learnt from. Only once that is done do the
``test_*`` metrics reach the
version itself, in one request: onto the training run, where the promotion gate and
``edm models compare`` read them, linked to the version's MLflow model. So a failure half-way
leaves the version without scores (the child run ends FAILED), and the training run's status,
start and end stay those of the training.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import EdmError, ModelVersionNotFoundError, RegistryError
from edm.evaluation.evaluate import EvaluationReport

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

ARTIFACT_DIR = "evaluation"
PER_TRACK_FILE = "per_track.json"
EVALUATION_RUN_TAG = "edm.evaluation.run_id"


@dataclass(frozen=True)
class LoggedEvaluation:
    run_id: str  # the version's (training) run, which now holds the test_* metrics
    evaluation_run_id: str  # the evaluation's own run, a child of it
    drift_reference: bool = False  # the tracks' descriptors became its reference (it had none)


def log_evaluation(
    registry: ModelRegistry, version: int, report: EvaluationReport
) -> LoggedEvaluation:
    """Log ``report`` for ``version``: its own run first, then the scores onto the version."""
    from edm.registry.evaluations import DIGEST_TAG, EVALUATION_CONTEXT, DataRecord

    training_run = _run_of_version(registry, version)
    metrics = report.logged_metrics()
    digest = report.digest or _dataset_hash(report.data_dir)
    data = DataRecord(digest, str(report.data_dir), len(report.tracks), report.track_hashes)
    tags = {
        "edm.evaluation.data_dir": str(report.data_dir),
        "edm.evaluation.dataset_hash": digest,
        DIGEST_TAG: digest,
        "edm.evaluation.n_tracks": str(len(report.tracks)),
        "edm.evaluation.time": datetime.now(UTC).isoformat(timespec="seconds"),
        "edm.evaluation.version": str(version),
    }
    with tempfile.TemporaryDirectory(prefix="edm-evaluation-") as folder:
        per_track = Path(folder) / PER_TRACK_FILE
        per_track.write_text(json.dumps(report.to_dict(), indent=2, default=_plain))
        with registry.start_run(
            f"evaluation of version {version}", tags=tags, parent_run_id=training_run
        ) as run:
            run.log_artifact(per_track, ARTIFACT_DIR)
            run.log_metrics(metrics)
            registry.log_data(run.run_id, data, EVALUATION_CONTEXT)
        stored = bool(report.descriptors) and registry.drift_reference(version) is None
        if stored:
            reference = report.drift_reference().write(Path(folder) / "drift_reference.json")
            registry.log_drift_reference(version, reference)
    # The evaluation run is complete and FINISHED: only now may the scores reach the version.
    registry.link_metrics(version, metrics, tags={**tags, EVALUATION_RUN_TAG: run.run_id})
    registry.log_data(training_run, data, EVALUATION_CONTEXT)  # listed on the version's run
    return LoggedEvaluation(
        run_id=training_run, evaluation_run_id=run.run_id, drift_reference=stored
    )


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
