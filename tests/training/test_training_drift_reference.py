"""The drift reference is the version's training data, recorded by `edm train` (issue 32):
a real training on synthetic tracks, a real SQLite store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.evaluation.evaluate import EvaluationReport
from edm.evaluation.tracking import log_evaluation
from edm.monitoring.descriptors import FEATURES
from edm.monitoring.reference import DriftReference
from edm.registry import ModelRegistry
from edm.training import TrainingConfig
from edm.training.pipeline import train_from_directory


def _report(folder: Path, n: int) -> EvaluationReport:
    row = dict.fromkeys(FEATURES, 1.0)
    return EvaluationReport(
        data_dir=folder,
        model="version",
        tracks=[],
        aggregate={"beat_f": 0.5},
        descriptors=[row] * n,
        digest=f"other-{n}",
    )


@pytest.mark.slow
def test_training_records_its_tracks_as_the_versions_drift_reference(
    synth_data: Path, tmp_path: Path, store_uri: str
) -> None:
    registry = ModelRegistry(tracking_uri=store_uri, promotion_gate=None)
    config = TrainingConfig.create(
        num_epochs=1,
        batch_size=4,
        crop_seconds=8.0,
        val_fraction=0.34,
        output_dir=tmp_path / "outputs",
        run_name="reference",
    )
    job = train_from_directory(synth_data, config, registry)
    version = job.result.model_version
    document = registry.drift_reference(version)
    assert document is not None
    reference = DriftReference.from_dict(document)
    # The four tracks trained on (six, a third held for validation), analysed by the version.
    assert reference.source == "training"
    assert reference.n_tracks == 4
    assert reference.data_dir == str(synth_data)
    assert reference.model == f"version {version}"
    durations = reference.features["audio_duration"]
    assert all(39 <= value <= 51 for value in durations), durations
    assert set(FEATURES) <= set(reference.features)
    assert all(math.isfinite(value) for value in reference.features["loudness"])

    # An evaluation on other data is logged, and leaves the training reference as it was.
    log_evaluation(registry, version, _report(tmp_path / "other", 3))
    assert registry.drift_reference(version) == document

    # A version registered without `edm train` has none: an evaluation gives it one.
    registry.log_model(tiny_cnn_checkpoint(tmp_path / "tiny.pt"), "tiny", {}, {"val_loss": 1.0})
    log_evaluation(registry, version + 1, _report(tmp_path / "other", 5))
    fallback = DriftReference.from_dict(registry.drift_reference(version + 1))
    assert (fallback.source, fallback.n_tracks) == ("evaluation", 5)
