"""A training run can be traced back to exactly its data, code and environment."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import mlflow
import pytest
from tests.cli_runner import RunEdm

from edm.code_version import source_commit
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow


def _git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "u",
        "GIT_AUTHOR_EMAIL": "u@x",
        "GIT_COMMITTER_NAME": "u",
    }
    env["GIT_COMMITTER_EMAIL"] = "u@x"
    done = subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)
    return done.stdout.decode().strip()


def test_the_run_records_its_datasets_tracks_code_environment_and_system(
    synth_data: Path, tmp_path: Path, store_uri: str, run_edm: RunEdm
) -> None:
    # The user's own data repository (git tracks the folder): its commit is a tag of its own.
    repo = tmp_path / "my-data"
    shutil.copytree(synth_data, repo / "data")
    _git("init", "-q", cwd=repo)
    _git("add", "data", cwd=repo)
    _git("commit", "-qm", "tracks", cwd=repo)
    registry = ModelRegistry(tracking_uri=store_uri)
    out = tmp_path / "out"
    trained = run_edm(
        "--tracking-uri", store_uri, "train", str(repo / "data"), "--epochs", "1",
        "--batch-size", "4", "--crop-seconds", "8", "--output", str(out), "--no-progress",
        "--json",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.stderr
    summary = json.loads(trained.stdout)
    # What a pipeline reads instead of scraping "Registered version 1": stdout and run.json.
    run_file = out / summary["run_name"] / "run.json"
    assert json.loads(run_file.read_text()) == summary
    assert summary["run_file"] == str(run_file)
    assert summary["model_version"] == 1
    assert summary["model_uri"] == "models:/edm-structure-detector/1"
    assert summary["metrics"]["best_epoch"] == summary["best_epoch"] == 1
    assert summary["metrics"]["val_loss"] == pytest.approx(summary["best_val_loss"])
    run = registry.client.get_run(summary["run_id"])

    # Code: edm's own commit, not the data repository's (nor the current folder's).
    tags = run.data.tags
    assert tags["mlflow.source.git.commit"] == source_commit()
    assert tags["git_commit"] == source_commit(short=True)
    assert tags["data_git_commit"] == _git("rev-parse", "HEAD", cwd=repo)
    assert tags["data_git_commit"] != source_commit()

    # Data: the two sets as MLflow datasets with digest and source, and their track lists.
    inputs = {
        next(t.value for t in item.tags if t.key == "mlflow.data.context"): item.dataset
        for item in run.inputs.dataset_inputs
    }
    assert {"train", "validation", "training"} <= set(inputs)
    for context in ("train", "validation"):
        dataset = inputs[context]
        assert dataset.name == context and dataset.digest
        assert str(repo / "data") in dataset.source
    listed = {}
    for name in ("train", "validation"):
        text = _artifact(registry, run.info.run_id, f"inputs/{name}_tracks.csv")
        listed[name] = {row["track"] for row in csv.DictReader(io.StringIO(text))}
    assert len(listed["train"]) == summary["tracks"]["train"]
    assert len(listed["validation"]) == summary["tracks"]["validation"]
    assert listed["train"].isdisjoint(listed["validation"])

    # Environment and system metrics.
    requirements = _artifact(registry, run.info.run_id, "environment/requirements.txt")
    assert "torch==" in requirements and "mlflow==" in requirements
    assert any(key.startswith("system/") for key in run.data.metrics)

    # best_epoch counts from 1: one epoch run, the best is epoch 1.
    assert run.data.metrics["best_epoch"] == 1

    # --model latest: the version just trained, whatever its stage.
    track = next((repo / "data").glob("*.wav"))
    analyzed = run_edm(
        "--tracking-uri", store_uri, "analyze", str(track), "--model", "latest", "-f", "json"
    )  # fmt: skip
    assert analyzed.exit_code == 0, analyzed.stderr
    assert json.loads(analyzed.stdout)["model"] == "version 1 of 'edm-structure-detector'"


def _artifact(registry: ModelRegistry, run_id: str, path: str) -> str:
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=path, tracking_uri=registry.tracking_uri
    )
    return Path(local).read_text()
