"""edm train --init-from: fine-tuning a registered version on several folders, less their
held-out tracks; refused cases; the lineage shown by edm models info and history."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from tests.cli_runner import RunEdm

from edm.audio.features import FeatureParams
from edm.data.split import heldout_tracks, write_split
from edm.models import MultiTaskModel, load_checkpoint, save_checkpoint
from edm.registry import ModelRegistry
from edm.training import TrainingConfig
from edm.training.pipeline import train_from_directory

TINY = {
    "hidden_size": 8,
    "conv_channels": (4, 4),
    "freq_pooling": (4, 4),
    "temporal_dilations": (1, 2),
}
FAST = ("--epochs", "1", "--batch-size", "4", "--crop-seconds", "6", "--no-progress")


def _folders(synth_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Three tracks as the user's reviewed folder (with a split file holding one or two out),
    the other three as a second, synthetic folder."""
    reviewed, synthetic = tmp_path / "reviewed", tmp_path / "synthetic"
    for i, path in enumerate(sorted(synth_data.glob("*.yaml"))):
        target = reviewed if i < 3 else synthetic
        target.mkdir(exist_ok=True)
        shutil.copy(path, target)
        shutil.copy(path.with_suffix(".wav"), target)
    for seed in range(50):  # the first seed that holds out one or two of the three
        if 1 <= len(write_split(reviewed, 0.4, seed).heldout) <= 2:
            break
    return reviewed, synthetic


@pytest.mark.slow
def test_fine_tune_from_a_version_with_lineage(
    synth_data: Path, tmp_path: Path, store_uri: str, run_edm: RunEdm
) -> None:
    reviewed, synthetic = _folders(synth_data, tmp_path)
    registry = ModelRegistry(tracking_uri=store_uri)
    config = TrainingConfig.create(
        num_epochs=1, batch_size=4, crop_seconds=6.0, output_dir=tmp_path / "outputs"
    )
    first = train_from_directory(synth_data, config, registry, model_options=TINY)
    assert first.result.model_version == 1
    held = {t.name for t in heldout_tracks(reviewed)}

    result = run_edm(
        "--tracking-uri", store_uri, "train", str(reviewed), "--init-from", "1",
        "--mix", f"{synthetic}=3", "--output", str(tmp_path / "outputs"), *FAST, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    trained = json.loads(result.stdout)
    assert trained["model_version"] == 2
    # The held-out tracks are never trained or validated on.
    assert trained["tracks"]["train"] + trained["tracks"]["validation"] == 6 - len(held)

    child = load_checkpoint(tmp_path / "outputs" / trained["run_name"] / "best.pt")
    assert child["model_config"]["hidden_size"] == 8  # the parent's model, not the default
    record = registry.version_record(2)
    assert record is not None
    tags = record.tags
    assert tags["edm.parent_version"] == "1" and tags["edm.parent_ref"] == "1"
    assert tags["edm.parent_run_id"] == first.result.run_id
    assert tags["data_folders"] == "2" and tags["data_heldout_tracks"] == str(len(held))
    assert tags["data.0.dir"] == str(reviewed) and tags["data.1.weight"] == "3"
    assert tags["data.0.hash"].endswith(".dir") and tags["data.0.hash"] != tags["data.1.hash"]
    # A fine-tune fits a section labeller and says on the run whether it kept it.
    verdict = tags["edm.section_labels"]
    assert verdict.startswith(("learnt from", "hand priors")), verdict
    assert ("section_labeller" in child) == verdict.startswith("learnt from")

    info = run_edm("--tracking-uri", store_uri, "models", "info", "2")
    assert info.exit_code == 0, info.stderr
    assert "v2 <- v1" in info.stdout and "fine-tuned from 1" in info.stdout
    history = run_edm("--tracking-uri", store_uri, "models", "history")
    assert "Lineage: v2 <- v1" in history.stdout

    # A second generation: the chain grows.
    again = run_edm(
        "--tracking-uri", store_uri, "train", str(reviewed), "--init-from", "models:/"
        "edm-structure-detector/2", "--output", str(tmp_path / "outputs"), *FAST,
        "--no-learn-labels",
    )  # fmt: skip
    assert again.exit_code == 0, again.stderr
    assert "fine-tuned from models:/edm-structure-detector/2" in again.stdout
    assert "Section labels" not in again.stdout  # --no-learn-labels: none fitted
    third = registry.version_record(3)
    assert third is not None and "edm.section_labels" not in third.tags
    info = run_edm("--tracking-uri", store_uri, "models", "info", "3")
    assert "v3 <- v2 <- v1" in info.stdout

    # Without a registry the checkpoint is the result, and it gets the same last step.
    local = run_edm(
        "--tracking-uri", store_uri, "train", str(reviewed), "--init-from",
        str(tmp_path / "outputs" / trained["run_name"] / "best.pt"), "--no-registry",
        "--output", str(tmp_path / "outputs"), "--run-name", "local", *FAST,
    )  # fmt: skip
    assert local.exit_code == 0, local.stderr
    assert "Section labels: " in local.stdout, local.stdout
    assert registry.version_record(4) is None


def test_fine_tuning_is_refused_in_one_line(
    synth_data: Path, tmp_path: Path, store_uri: str, run_edm: RunEdm
) -> None:
    def refused(*args: str) -> str:
        result = run_edm("--tracking-uri", store_uri, "train", str(synth_data), *args, *FAST)
        assert result.exit_code == 1, result.stdout
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        return result.stderr

    assert "version 7" in refused("--init-from", "7")
    assert "nowhere.pt" in refused("--init-from", str(tmp_path / "nowhere.pt"))

    torch.manual_seed(0)
    tiny = MultiTaskModel("cnn", **TINY)
    parent = save_checkpoint(tmp_path / "tiny.pt", tiny, feature_params=FeatureParams().to_dict())
    assert "backbone is cnn, not mert-95m" in refused(
        "--init-from", str(parent), "--backbone", "mert-95m"
    )
    other = MultiTaskModel("cnn", labels=("verse", "chorus"), **TINY)
    foreign = save_checkpoint(
        tmp_path / "foreign.pt", other, feature_params=FeatureParams().to_dict()
    )
    assert "label vocabulary (verse, chorus) differs" in refused("--init-from", str(foreign))
    assert "--mix 'x=0' is not DIR=WEIGHT" in refused("--mix", "x=0")
    assert not (tmp_path / "outputs").exists()
