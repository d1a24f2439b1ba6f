from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset

TEST_METRICS = {
    "test_beat_f",
    "test_downbeat_f",
    "test_boundary_f_0.5",
    "test_boundary_f_3",
    "test_boundary_p_0.5",
    "test_boundary_r_0.5",
    "test_label_accuracy",
    "test_energy_corr",
    "test_bpm_accuracy",
}


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small cnn: these tests check the command, not the model's quality."""
    return tiny_cnn_checkpoint(tmp_path_factory.mktemp("model") / "best.pt", seed=1)


@pytest.fixture(scope="module")
def test_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("test-set") / "data"
    write_synthetic_dataset(folder, 2, seed=9, config=SynthConfig(min_seconds=30, max_seconds=32))
    return folder


def test_json_has_per_track_and_mean_scores(run_edm, checkpoint_file: Path, test_set: Path) -> None:
    result = run_edm("evaluate", str(test_set), "--model", str(checkpoint_file), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n_tracks"] == 2 and report["logged"] is None
    assert [t["track"] for t in report["tracks"]] == ["track_000", "track_001"]
    assert {f"test_{name}" for name in report["aggregate"]} >= TEST_METRICS
    for row in report["tracks"]:
        assert row["reference_bpm"] > 0 and 0.0 <= row["beat_f"] <= 1.0
        # Per window, each missed or extra boundary: as many as recall and precision count.
        for window in ("0.5", "3"):
            errors = row["boundary_errors"][window]
            missed = [e for e in errors if e["kind"] == "missed"]
            if row[f"boundary_r_{window}"] == 1.0:
                assert missed == []
            for error in errors:
                assert " → " in error["transition"] and error["time"] > 0
    summary = report["boundary_errors"]["3"]
    assert set(summary) == {"missed", "extra"}
    counted = sum(len(row["boundary_errors"]["3"]) for row in report["tracks"])
    assert sum(sum(kind.values()) for kind in summary.values()) == counted


def test_tables(run_edm, checkpoint_file: Path, test_set: Path) -> None:
    result = run_edm("evaluate", str(test_set), "--model", str(checkpoint_file))
    assert result.exit_code == 0, result.stderr
    assert "track_001" in result.stdout and "test_boundary_f_0.5" in result.stdout


def test_log_stores_test_metrics_and_the_table_on_the_versions_run(
    run_edm, store_uri: str, checkpoint_file: Path, test_set: Path
) -> None:
    registry = ModelRegistry(tracking_uri=store_uri)
    run_id = registry.log_model(checkpoint_file, "tiny", {}, {"best_val_loss": 1.0})
    trained = registry.client.get_run(run_id).info
    result = run_edm(
        "--tracking-uri", store_uri, "evaluate", str(test_set), "--model", "1", "--log", "--json"
    )
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["logged"]["run_id"] == run_id

    run = registry.client.get_run(run_id)
    # The training run keeps its status and its times: the evaluation has a run of its own.
    assert (run.info.status, run.info.start_time, run.info.end_time) == (
        "FINISHED",
        trained.start_time,
        trained.end_time,
    )
    logged = {k: v for k, v in run.data.metrics.items() if k.startswith("test_")}
    assert set(logged) >= TEST_METRICS - {"test_energy_corr"}  # NaN (constant energy) is skipped
    for name, value in logged.items():
        assert value == pytest.approx(report["aggregate"][name.removeprefix("test_")])
    assert run.data.metrics["best_val_loss"] == 1.0  # the training's metrics stay
    assert run.data.tags["edm.evaluation.n_tracks"] == "2"

    evaluation = registry.client.get_run(report["logged"]["evaluation_run_id"])
    assert evaluation.info.status == "FINISHED"
    assert evaluation.data.tags["mlflow.parentRunId"] == run_id
    assert run.data.tags["edm.evaluation.run_id"] == evaluation.info.run_id
    artifact = registry.client.download_artifacts(
        evaluation.info.run_id, "evaluation/per_track.json", "."
    )
    per_track = json.loads(Path(artifact).read_text())
    assert [t["track"] for t in per_track["tracks"]] == ["track_000", "track_001"]
    assert set(per_track["boundary_errors"]) == {"0.5", "3"}  # the error analysis, kept too
    # The version's MLflow model shows the scores too.
    model_id = registry.version_record(1).model_id
    model_metrics = {m.key for m in registry.client.get_logged_model(model_id).metrics}
    assert {"best_val_loss", "test_boundary_f_0.5"} <= model_metrics
    info = registry.get_model_info(1)
    assert info is not None and "test_boundary_f_0.5" in info["metrics"]


def test_log_needs_a_registry_model(run_edm, checkpoint_file: Path, test_set: Path) -> None:
    result = run_edm("evaluate", str(test_set), "--model", str(checkpoint_file), "--log")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: --log stores scores on a registry version's run; {checkpoint_file} is a local "
        "file: give --model VERSION, a stage or a models:/ URI, or use --no-log"
    ]


def test_a_missing_data_folder_is_one_error_line(run_edm, checkpoint_file: Path) -> None:
    result = run_edm("evaluate", "nowhere", "--model", str(checkpoint_file))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == ["Error: nowhere: data folder not found"]


def test_log_that_fails_half_way_leaves_the_version_unevaluated(
    store_uri: str, checkpoint_file: Path, test_set: Path
) -> None:
    """The artifact store fails once the evaluation's run exists (a real ENOTDIR, which root
    cannot write past either): nothing reaches the version, the training run is untouched, the
    evaluation run ends FAILED, and the gate still sees a version never evaluated."""
    from edm.errors import PromotionRefusedError, StoreError
    from edm.evaluation import evaluate_dataset
    from edm.evaluation.tracking import log_evaluation
    from edm.inference.pipeline import File2Structure
    from edm.registry import PromotionGate

    registry = ModelRegistry(tracking_uri=store_uri)
    run_id = registry.log_model(checkpoint_file, "tiny", {}, {"best_val_loss": 1.0})
    before = registry.client.get_run(run_id).info
    report = evaluate_dataset(test_set, File2Structure.from_checkpoint(checkpoint_file))
    experiment = registry.client.get_experiment(before.experiment_id)
    artifacts = Path(experiment.artifact_location.removeprefix("file://"))
    aside = artifacts.with_name(artifacts.name + ".aside")
    artifacts.rename(aside)
    artifacts.write_text("not a folder")
    try:
        with pytest.raises(StoreError, match="evaluation of version 1"):
            log_evaluation(registry, 1, report)
    finally:
        artifacts.unlink()
        aside.rename(artifacts)

    after = registry.client.get_run(run_id)
    assert (after.info.status, after.info.start_time, after.info.end_time) == (
        "FINISHED",
        before.start_time,
        before.end_time,
    )
    assert not [k for k in after.data.metrics if k.startswith("test_")]
    [evaluation] = registry.client.search_runs(
        [before.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'"
    )
    assert evaluation.info.status == "FAILED"
    with pytest.raises(PromotionRefusedError, match="never evaluated"):
        ModelRegistry(tracking_uri=store_uri, promotion_gate=PromotionGate()).promote_model(
            1, "Production"
        )
