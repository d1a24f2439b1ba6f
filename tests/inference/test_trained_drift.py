"""Drift with a real (small) trained model: tracks synthesized at other tempos move its BPM
answers off the reference of its evaluation set (an untrained model's BPM follows nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edm.evaluation.evaluate import evaluate_dataset
from edm.inference.pipeline import File2Structure
from edm.monitoring.offline import folder_drift
from edm.synth import SynthConfig, write_synthetic_dataset

pytestmark = pytest.mark.slow  # synthesizes four more tracks beside the trained model's


def test_a_faster_set_drifts_on_bpm(
    trained_checkpoint: Path, held_out_tracks: Path, tmp_path: Path
) -> None:
    analyzer = File2Structure.from_checkpoint(trained_checkpoint)
    report = evaluate_dataset(held_out_tracks, analyzer.analyze)
    reference = report.drift_reference()
    assert reference.n_tracks == 4 and len(report.descriptors) == 4
    assert reference.features["bpm"] == pytest.approx([row["bpm"] for row in report.tracks])

    faster = tmp_path / "faster"  # 160-178 BPM against the held-out tracks' 118-150
    config = SynthConfig(min_seconds=20, max_seconds=25, min_bpm=160, max_bpm=178)
    write_synthetic_dataset(faster, 4, seed=13, config=config)
    drifted = folder_drift(faster, analyzer.analyze, reference, min_samples=4)
    bpm = next(f for f in drifted.features if f.feature == "bpm")
    # Four tracks against four: one misread tempo leaves the KS p-value above 0.05 ("warn"),
    # while the distribution shift itself (PSI) is beyond doubt.
    assert bpm.status in ("warn", "drift"), bpm
    assert bpm.psi > 0.2, bpm
    assert bpm.recent.mean > bpm.reference.mean + 10
