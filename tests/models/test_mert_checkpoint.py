"""MERT checkpoints rebuild from the config they store, without the pretrained weights."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch

from edm.errors import WeightsNotFoundError
from edm.models import MultiTaskModel, load_model, save_checkpoint

FEATURES = {"sample_rate": 24000, "frame_rate": 50.0}


def _copy(source: Path, tmp_path: Path, name: str) -> Path:
    return Path(shutil.copytree(source, tmp_path / name))


def _assert_same_outputs(first: MultiTaskModel, second: MultiTaskModel) -> None:
    audio = torch.randn(1, 24000)
    with torch.no_grad():
        expected, actual = first.eval()(audio, n_frames=50), second.eval()(audio, n_frames=50)
    for task in expected:
        assert torch.equal(expected[task], actual[task]), task


def test_hubert_checkpoint_loads_without_the_weights(tiny_hubert_dir: Path, tmp_path: Path) -> None:
    weights = _copy(tiny_hubert_dir, tmp_path, "weights")
    model = MultiTaskModel("mert-95m", backbone_path=str(weights), layer_weighted_sum=True)
    path = save_checkpoint(tmp_path / "best.pt", model, feature_params=FEATURES)
    shutil.rmtree(weights)

    loaded, contents = load_model(path)

    assert contents["backbone_architecture"]["hidden_size"] == 32
    _assert_same_outputs(model, loaded)


def test_remote_code_mert_checkpoint_loads_as_hubert(remote_mert_dir: Path, tmp_path: Path) -> None:
    """MERT-v1 without its extras is a HubertModel: loading runs no downloaded code."""
    weights = _copy(remote_mert_dir, tmp_path, "mert_weights")
    model = MultiTaskModel("mert-95m", backbone_path=str(weights), freeze_backbone=True)
    path = save_checkpoint(tmp_path / "best.pt", model, feature_params=FEATURES)
    shutil.rmtree(weights)

    loaded, contents = load_model(path)

    assert contents["backbone_architecture"]["model_type"] == "mert_model"
    assert type(loaded.backbone.encoder).__name__ == "HubertModel"
    _assert_same_outputs(model, loaded)


def test_mert_extras_need_mert_code_to_load(remote_mert_deepnorm_dir: Path, tmp_path: Path) -> None:
    weights = _copy(remote_mert_deepnorm_dir, tmp_path, "mert_deepnorm_weights")
    model = MultiTaskModel("mert-95m", backbone_path=str(weights))
    path = save_checkpoint(tmp_path / "best.pt", model, feature_params=FEATURES)
    for name in weights.glob("*.safetensors"):
        name.unlink()  # the code and config are needed, the pretrained weights are not

    loaded, _ = load_model(path)

    assert type(loaded.backbone.encoder).__name__ == "MERTModel"
    _assert_same_outputs(model, loaded)

    shutil.rmtree(weights)
    with pytest.raises(WeightsNotFoundError, match=f"{re.escape(str(path))}: .*mert_model.*not in"):
        load_model(path)
