"""Evaluations and training data recorded on versions through the registry's real path
(``log_evaluation`` writes the child run, the dataset inputs and the scores), for gate tests
that need many scores fast: the reports are built here, not computed by a model."""

from __future__ import annotations

import hashlib
from pathlib import Path

from edm.evaluation.evaluate import EvaluationReport
from edm.evaluation.tracking import log_evaluation
from edm.registry import ModelRegistry
from edm.registry.evaluations import TRAINING_CONTEXT, DataRecord


def tracks(*names: str) -> dict[str, str]:
    """Content hashes for named tracks: the same name, the same audio."""
    return {hashlib.sha256(name.encode()).hexdigest()[:16]: name for name in names}


def digest_of(name: str) -> str:
    return hashlib.md5(name.encode(), usedforsecurity=False).hexdigest() + ".dir"


def trained_on(registry: ModelRegistry, version: int, folder: str, *names: str) -> None:
    record = registry.version_record(version)
    assert record is not None
    data = DataRecord(digest_of(folder), f"/data/{folder}", len(names), tracks(*names))
    registry.log_data(record.run_id, data, TRAINING_CONTEXT)


def evaluated_on(
    registry: ModelRegistry, version: int, folder: str, names: tuple[str, ...], **scores: float
) -> None:
    report = EvaluationReport(
        data_dir=Path(f"/data/{folder}"),
        model=f"version {version}",
        tracks=[{"track": name, "boundary_errors": {"0.5": [], "3": []}} for name in names],
        aggregate=dict(scores),
        digest=digest_of(folder),
        track_hashes=tracks(*names),
    )
    log_evaluation(registry, version, report)


GOOD = {
    "beat_f": 0.9,
    "downbeat_f": 0.8,
    "bpm_accuracy": 0.9,
    "boundary_f_0.5": 0.6,
    "boundary_f_3": 0.8,
    "label_accuracy": 0.85,
}
