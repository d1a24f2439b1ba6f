"""`edm evaluate --log` stores the drift reference on the version (a real SQLite store), and
`edm monitor drift` compares folders of audio with it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.annotate.tracks import TrackIndex
from edm.data.review_queue import QUEUE_FILE, read_queue
from edm.monitoring.descriptors import FEATURES
from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset

pytestmark = pytest.mark.slow  # synthesizes tracks and registers a model


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("drift-sets")
    usual = SynthConfig(min_seconds=19, max_seconds=23)
    faster = SynthConfig(min_seconds=14, max_seconds=17, min_bpm=165, max_bpm=178)
    write_synthetic_dataset(root / "evaluation", 5, seed=21, config=usual, workers=1)
    write_synthetic_dataset(root / "faster", 5, seed=22, config=faster, workers=1)
    checkpoint = tiny_cnn_checkpoint(root / "tiny.pt", seed=0)
    return {"evaluation": root / "evaluation", "faster": root / "faster", "checkpoint": checkpoint}


@pytest.fixture(scope="module")
def store_uri(tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path) -> str:
    """One store for the module: registering and evaluating once is most of its time."""
    store = tmp_path_factory.mktemp("drift-store") / "mlruns"
    store.mkdir()
    shutil.copyfile(_migrated_empty_store, store / "mlflow.db")
    return str(store)


@pytest.fixture(scope="module")
def logged(
    store_uri: str, sets: dict[str, Path], _feature_cache_dir: Path, tmp_path_factory
) -> ModelRegistry:
    """Version 1 (an MLflow model), evaluated with `edm evaluate --log` on the evaluation set;
    version 2 (a bare checkpoint: quicker to register), never evaluated."""
    registry = ModelRegistry(tracking_uri=store_uri)
    registry.log_model(sets["checkpoint"], "tiny", {}, {"best_val_loss": 1.0})
    bare = ModelRegistry(tracking_uri=store_uri, packager=None)
    bare.log_model(sets["checkpoint"], "tiny-again", {}, {"best_val_loss": 1.0})
    command = [sys.executable, "-m", "edm", "--tracking-uri", store_uri, "evaluate"]
    command += [str(sets["evaluation"]), "--model", "1", "--log"]
    # Module fixtures come before each test's isolated environment: isolate this one here.
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "EDM_"))}
    environment |= {"EDM_CACHE_DIR": str(_feature_cache_dir), "MLFLOW_TRACKING_USERNAME": "tester"}
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
        cwd=tmp_path_factory.mktemp("evaluate-cwd"),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "drift reference" in result.stdout
    return registry


def monitor(run_edm, store_uri: str, folder: Path, *options: str):
    """With the feature cache: the same tracks are analysed several times here."""
    return run_edm(
        "--tracking-uri", store_uri, "monitor", "drift", str(folder), "--cache", *options
    )


def test_evaluate_log_stores_the_reference_on_the_versions_run(logged: ModelRegistry) -> None:
    document = logged.drift_reference(1)
    assert document is not None and document["n_tracks"] == 5
    assert document["source"] == "evaluation"  # registered without edm train: none before
    assert list(document["features"]) == list(FEATURES)
    assert all(len(values) == 5 for values in document["features"].values())
    assert all(v > 0 for v in document["features"]["audio_duration"])
    run_id = logged.version_record(1).run_id
    stored = [a.path for a in logged.client.list_artifacts(run_id, "monitoring")]
    assert stored == ["monitoring/drift_reference.json"]
    assert logged.drift_reference(2) is None


def test_the_evaluation_set_itself_does_not_drift(
    run_edm, store_uri: str, logged: ModelRegistry, sets: dict[str, Path]
) -> None:
    result = monitor(run_edm, store_uri, sets["evaluation"], "--model", "1", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["analysed"] == 5 and report["failed"] == [] and report["drifted"] == []
    assert [f["feature"] for f in report["features"]] == list(FEATURES)
    for feature in report["features"]:
        assert feature["status"] == "ok" and feature["psi"] == pytest.approx(0.0, abs=1e-9)
    assert report["review_queue"] is None and not (sets["evaluation"] / QUEUE_FILE).exists()
    table = monitor(run_edm, store_uri, sets["evaluation"], "--model", "1")
    assert table.exit_code == 0 and "No feature drifts." in table.stdout
    assert "spectral_centroid" in table.stdout and "PSI" in table.stdout


def test_faster_shorter_tracks_drift_and_exit_3(
    run_edm, store_uri: str, logged: ModelRegistry, sets: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "faster"
    folder.mkdir()
    for wav in sets["faster"].glob("*.wav"):
        (folder / wav.name).write_bytes(wav.read_bytes())
    (folder / "broken.wav").write_bytes(b"RIFF but not audio")  # reported; the rest go on
    result = monitor(
        run_edm, store_uri, folder, "--model", "models:/edm-structure-detector/1", "--json"
    )
    assert result.exit_code == 3, result.stderr
    report = json.loads(result.stdout)
    assert report["analysed"] == 5 and [Path(f["path"]).name for f in report["failed"]] == [
        "broken.wav"
    ]
    assert "broken.wav" in result.stderr
    statuses = {f["feature"]: f["status"] for f in report["features"]}
    assert report["drifted"] and all(statuses[name] == "drift" for name in report["drifted"])
    # The tracks are 14-17 s against 19-23 s: their length drifts whatever the model says.
    assert statuses["audio_duration"] == "drift"
    # Drift asks for review: the tracks furthest into the reference's tails on the drifting
    # features go to the folder's review queue, furthest first, which edm annotate opens first.
    queued = report["review_queue"]
    assert queued["file"] == str(folder / QUEUE_FILE)
    ids = [item["track"] for item in queued["tracks"]]
    assert ids and set(ids) <= {f"{wav.stem}.yaml" for wav in sets["faster"].glob("*.wav")}
    tails = [item["tail"] for item in queued["tracks"]]
    assert tails == sorted(tails, reverse=True) and min(tails) >= 0.8
    assert read_queue(folder) == ids
    assert [track.id for track in TrackIndex(folder).tracks()][: len(ids)] == ids
    table = monitor(run_edm, store_uri, folder, "--model", "1")
    assert table.exit_code == 3 and "Drift:" in table.stdout and "audio_duration" in table.stdout
    assert "edm annotate" in table.stdout and QUEUE_FILE in table.stdout
    (folder / QUEUE_FILE).unlink()
    skipped = monitor(run_edm, store_uri, folder, "--model", "1", "--no-queue")
    assert skipped.exit_code == 3 and not (folder / QUEUE_FILE).exists()


def test_without_a_reference_the_error_says_how_to_get_one(
    run_edm, store_uri: str, logged: ModelRegistry, sets: dict[str, Path], tmp_path: Path
) -> None:
    missing = monitor(run_edm, store_uri, sets["faster"], "--model", "2")
    assert missing.exit_code == 1
    assert "has no drift reference" in missing.stderr and "--log" in missing.stderr
    local = monitor(run_edm, store_uri, sets["faster"], "--model", str(sets["checkpoint"]))
    assert local.exit_code == 1 and "--reference FILE" in local.stderr
    # A reference file works for any model, a local checkpoint included.
    reference = tmp_path / "reference.json"
    reference.write_text(json.dumps(logged.drift_reference(1)))
    with_file = monitor(
        run_edm, store_uri, sets["evaluation"], "--model", str(sets["checkpoint"]),
        "--reference", str(reference), "--json",
    )  # fmt: skip
    assert with_file.exit_code == 0, with_file.stderr
    assert json.loads(with_file.stdout)["drifted"] == []
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    refused = monitor(
        run_edm, store_uri, sets["evaluation"], "--reference", str(bad), "--model", "1"
    )
    assert refused.exit_code == 1 and "bad.json" in refused.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = monitor(run_edm, store_uri, empty, "--model", "1")
    assert nothing.exit_code == 1 and "no audio files" in nothing.stderr
