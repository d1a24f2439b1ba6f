"""The promotion gate reads the user's held-out split (edm data split): a candidate worse than
Production on those tracks is refused, with both figures. The gate is issue 32's
(edm.cli.promote_gate, --holdout); this checks that it judges on this split's tracks."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import RunEdm

from edm.data.split import heldout_tracks, write_split

GOOD = {
    "beat_f": 0.9,
    "downbeat_f": 0.8,
    "bpm_accuracy": 0.9,
    "boundary_f_0.5": 0.6,
    "boundary_f_3": 0.8,
    "label_accuracy": 0.85,
}


def _tracks(folder: Path, n: int) -> None:
    import numpy as np
    import soundfile as sf
    from tests.data.conftest import simple_annotation

    from edm.data.annotations import save_annotation

    folder.mkdir(parents=True)
    for i in range(n):
        noise = 0.05 * np.random.default_rng(i).standard_normal(10 * 22050)
        sf.write(folder / f"t{i}.wav", noise.astype(np.float32), 22050, subtype="PCM_16")
        save_annotation(simple_annotation(f"t{i}.wav"), folder / f"t{i}.yaml")


def test_the_gate_refuses_a_candidate_worse_on_the_heldout_split(
    tmp_path: Path, store_uri: str, run_edm: RunEdm, checkpoint: Path
) -> None:
    from edm.data.track_hashes import track_hashes
    from edm.evaluation.evaluate import EvaluationReport, dataset_digest
    from edm.evaluation.tracking import log_evaluation
    from edm.registry import ModelRegistry

    reviewed = tmp_path / "reviewed"
    _tracks(reviewed, 8)
    for seed in range(50):
        if write_split(reviewed, 0.4, seed).heldout:
            break
    held = heldout_tracks(reviewed)
    assert held
    digest = dataset_digest(reviewed, heldout_only=True)

    registry = ModelRegistry(tracking_uri=store_uri)
    for number in range(2):
        registry.log_model(checkpoint, f"run-{number}", {}, {})
    for version, labels in ((1, 0.85), (2, 0.55)):  # the candidate got the labels wrong
        report = EvaluationReport(
            data_dir=reviewed,
            model=f"version {version}",
            tracks=[{"track": t.name, "boundary_errors": {"0.5": [], "3": []}} for t in held],
            aggregate={**GOOD, "label_accuracy": labels},
            digest=digest,
            track_hashes=track_hashes(held),
        )
        log_evaluation(registry, version, report)
    registry.promote_model(1, "Production", reason="the first version")

    refused = run_edm(
        "--tracking-uri", store_uri, "models", "promote", "2", "Production",
        "--holdout", str(reviewed), "--reason", "fine-tuned on the reviewed tracks",
    )  # fmt: skip
    assert refused.exit_code == 1
    assert "label_accuracy" in refused.stderr
    assert "0.55" in refused.stderr and "0.85" in refused.stderr  # both figures
    assert registry.stage_holders().production == 1


def test_promote_json_with_holdout_prints_only_json_on_stdout(
    tmp_path: Path, store_uri: str, run_edm: RunEdm
) -> None:
    """--holdout evaluates a version not yet evaluated there; that progress goes to stderr, so
    a script reading --json gets the audit entry alone (make flywheel's promotion did not)."""
    import json

    from tests.tiny_model import tiny_cnn_checkpoint

    from edm.registry import ModelRegistry

    reviewed = tmp_path / "reviewed"
    _tracks(reviewed, 2)
    registry = ModelRegistry(tracking_uri=store_uri)
    registry.log_model(tiny_cnn_checkpoint(tmp_path / "tiny.pt"), "run-1", {}, {})
    promoted = run_edm(
        "--tracking-uri", store_uri, "models", "promote", "1", "Production",
        "--holdout", str(reviewed), "--reason", "first", "--json",
    )  # fmt: skip
    assert promoted.exit_code == 0, promoted.stderr
    answer = json.loads(promoted.stdout)
    assert answer["changed"] and answer["entry"]["version"] == 1
    assert answer["entry"]["to_stage"] == "Production" and "on reviewed" in answer["entry"]["gate"]
    assert "Evaluated version 1" in promoted.stderr
    assert registry.stage_holders().production == 1
