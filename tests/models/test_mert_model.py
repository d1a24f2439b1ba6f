"""The MERT path, with tiny randomly initialised encoders of the same family (HuBERT)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from edm.errors import ModelError, WeightsNotFoundError
from edm.models import MultiTaskModel, count_parameters

SECOND = 24000  # MERT's sample rate


def test_outputs_follow_the_encoder_frame_rate(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir))

    outputs = model(torch.randn(2, SECOND))

    frames = outputs["beat"].shape[1]
    assert 70 <= frames <= 75  # 75 per second, less the conv edges
    assert outputs["boundary"].shape == outputs["downbeat"].shape == (2, frames)
    assert outputs["energy"].shape == (2, 3, frames)
    assert outputs["label"].shape == (2, 7, frames)


def test_n_frames_aligns_outputs_with_50_fps_targets(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir), labels=("a", "b"))

    outputs = model(torch.randn(2, 2 * SECOND), n_frames=100)

    assert outputs["beat"].shape == (2, 100)
    assert outputs["energy"].shape == (2, 3, 100)
    assert outputs["label"].shape == (2, 2, 100)


def test_forward_backward_trains_encoder_and_heads(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir))

    outputs = model(torch.randn(2, SECOND), n_frames=50)
    sum(value.square().mean() for value in outputs.values()).backward()

    encoder_grads = [p.grad for p in model.backbone.encoder.parameters() if p.requires_grad]
    assert any(grad is not None and grad.abs().sum() > 0 for grad in encoder_grads)
    assert all(p.grad is not None for p in model.heads.parameters())
    assert model.backbone.encoder.config.hidden_size == 32


def test_channel_dimension_of_one_is_accepted(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir)).eval()
    audio = torch.randn(1, SECOND)

    with torch.no_grad():
        flat, channel = model(audio), model(audio.unsqueeze(1))

    assert torch.equal(flat["beat"], channel["beat"])


def test_wrong_input_shape_is_explained(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir))

    with pytest.raises(ModelError, match="mono audio"):
        model(torch.randn(2, 80, 100))


def test_frozen_backbone_trains_only_the_rest(tiny_hubert_dir: Path) -> None:
    model = MultiTaskModel(
        "mert-95m",
        backbone_path=str(tiny_hubert_dir),
        freeze_backbone=True,
        layer_weighted_sum=True,
    )
    encoder_size = count_parameters(model.backbone.encoder)

    model.train()
    outputs = model(torch.randn(2, SECOND), n_frames=50)
    sum(value.mean() for value in outputs.values()).backward()

    assert count_parameters(model, trainable_only=True) == count_parameters(model) - encoder_size
    assert not model.backbone.encoder.training  # no dropout or masking in a frozen encoder
    assert all(p.grad is None for p in model.backbone.encoder.parameters())
    assert model.backbone.layer_weights is not None
    assert model.backbone.layer_weights.grad is not None  # 2 layers + embeddings
    assert model.backbone.layer_weights.shape == (3,)


def test_env_var_points_at_the_weights(
    tiny_hubert_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDM_MERT_PATH", str(tiny_hubert_dir))

    model = MultiTaskModel("mert-330m")

    assert model.backbone.encoder.config.hidden_size == 32


def test_unexpected_hidden_size_is_logged(
    tiny_hubert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="edm.models.mert"):
        MultiTaskModel("mert-95m", backbone_path=str(tiny_hubert_dir))

    assert "expects hidden size 768" in caplog.text


def test_missing_weights_in_the_cache_say_how_to_get_them() -> None:
    with pytest.raises(WeightsNotFoundError) as caught:
        MultiTaskModel("mert-95m")

    message = str(caught.value)
    assert "\n" not in message
    assert "m-a-p/MERT-v1-95M" in message
    assert "hf download m-a-p/MERT-v1-95M" in message
    assert "EDM_MERT_PATH" in message


@pytest.mark.parametrize("what", ["empty", "absent", "config-only"])
def test_missing_weights_in_a_directory_name_it(
    tmp_path: Path, tiny_hubert_dir: Path, what: str
) -> None:
    directory = tmp_path / "mert-weights"
    if what != "absent":
        directory.mkdir()
    if what == "config-only":
        (directory / "config.json").write_text((tiny_hubert_dir / "config.json").read_text())

    with pytest.raises(WeightsNotFoundError) as caught:
        MultiTaskModel("mert-330m", backbone_path=str(directory))

    assert str(directory) in str(caught.value)
    assert "m-a-p/MERT-v1-330M" in str(caught.value)


def test_remote_code_mert_loads(remote_mert_dir: Path) -> None:
    model = MultiTaskModel("mert-95m", backbone_path=str(remote_mert_dir))

    assert type(model.backbone.encoder).__name__ == "MERTModel"
    assert model(torch.randn(1, SECOND), n_frames=50)["beat"].shape == (1, 50)


def test_remote_code_that_fails_falls_back_to_hubert(
    remote_mert_broken_code_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from safetensors.torch import load_file

    with caplog.at_level(logging.WARNING, logger="edm.models.mert"):
        model = MultiTaskModel("mert-95m", backbone_path=str(remote_mert_broken_code_dir))

    assert type(model.backbone.encoder).__name__ == "HubertModel"
    assert "loading its weights as a HubertModel" in caplog.text
    saved = load_file(remote_mert_broken_code_dir / "model.safetensors")
    loaded = model.backbone.encoder.state_dict()
    assert saved.keys() == loaded.keys()
    assert all(torch.equal(saved[key], loaded[key]) for key in saved)
