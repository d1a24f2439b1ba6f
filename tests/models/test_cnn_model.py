from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from edm.errors import ModelError
from edm.models import MultiTaskModel, count_parameters, to_activations
from edm.vocabulary import ENERGY_BANDS


def test_outputs_have_one_value_per_input_frame() -> None:
    model = MultiTaskModel()
    mel = torch.randn(2, 80, 173)

    outputs = model(mel)

    assert set(outputs) == {"boundary", "beat", "downbeat", "energy", "label"}
    for task in ("boundary", "beat", "downbeat"):
        assert outputs[task].shape == (2, 173)
    assert outputs["energy"].shape == (2, len(ENERGY_BANDS), 173)
    assert outputs["label"].shape == (2, 7, 173)


@pytest.mark.parametrize("frames", [1, 2, 50, 311])
def test_cnn_keeps_the_number_of_frames(frames: int) -> None:
    model = MultiTaskModel(n_mels=64, freq_pooling=(4, 4, 4), labels=("a", "b")).eval()

    outputs = model(torch.randn(1, 64, frames))

    assert outputs["beat"].shape == (1, frames)
    assert outputs["label"].shape == (1, 2, frames)


@pytest.mark.parametrize("n_frames", [60, 100, 250])
def test_n_frames_resamples_every_output(n_frames: int) -> None:
    model = MultiTaskModel().eval()

    outputs = model(torch.randn(2, 80, 100), n_frames=n_frames)

    assert outputs["boundary"].shape == (2, n_frames)
    assert outputs["energy"].shape == (2, 3, n_frames)
    assert outputs["label"].shape == (2, 7, n_frames)


def test_n_frames_equal_to_the_output_changes_nothing() -> None:
    model = MultiTaskModel().eval()
    mel = torch.randn(1, 80, 120)

    with torch.no_grad():
        plain, resampled = model(mel), model(mel, n_frames=120)

    for task in plain:
        assert torch.equal(plain[task], resampled[task])


def test_resampling_interpolates_linearly_in_time() -> None:
    from edm.models import resample_frames

    ramp = torch.arange(4, dtype=torch.float32).view(1, 4)

    doubled = resample_frames(ramp, 8)

    assert doubled.shape == (1, 8)
    assert torch.all(doubled[0, 1:] >= doubled[0, :-1])  # still a ramp
    assert doubled[0, 0] == 0 and doubled[0, -1] == 3


def test_gradients_reach_every_parameter() -> None:
    model = MultiTaskModel()
    outputs = model(torch.randn(2, 80, 64), n_frames=50)

    loss = sum(value.square().mean() for value in outputs.values())
    loss.backward()

    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert missing == []
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())


def test_count_parameters() -> None:
    model = MultiTaskModel()
    total = sum(p.numel() for p in model.parameters())

    assert count_parameters(model) == total
    assert 200_000 <= total <= 1_000_000  # small enough to train on a CPU

    model.backbone.frontend.requires_grad_(False)
    frozen = sum(p.numel() for p in model.backbone.frontend.parameters())
    assert count_parameters(model, trainable_only=True) == total - frozen


def test_activations_are_probabilities() -> None:
    model = MultiTaskModel().eval()

    activations = to_activations(model(torch.randn(1, 80, 40)))

    assert activations["beat"].min() >= 0 and activations["beat"].max() <= 1
    assert activations["energy"].min() >= 0 and activations["energy"].max() <= 1
    assert torch.allclose(activations["label"].sum(dim=1), torch.ones(1, 40))


def test_wrong_input_shape_is_explained() -> None:
    model = MultiTaskModel()

    with pytest.raises(ModelError, match=r"\(batch, 80, frames\)"):
        model(torch.randn(2, 64, 100))


def test_unknown_option_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="hiden_size"):
        MultiTaskModel(hiden_size=3)


def test_cnn_fits_one_batch() -> None:
    """Sanity: the model and its heads can learn at all (it memorises one batch in 30 steps)."""
    torch.manual_seed(0)
    model = MultiTaskModel(dropout=0.0)
    mel = torch.randn(2, 80, 64)
    beats = (torch.rand(2, 64) < 0.1).float()
    boundaries = (torch.rand(2, 64) < 0.05).float()
    energy = torch.rand(2, 3, 64)
    labels = torch.randint(0, 7, (2, 64))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)

    def loss_of(outputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return (
            F.binary_cross_entropy_with_logits(outputs["beat"], beats)
            + F.binary_cross_entropy_with_logits(outputs["boundary"], boundaries)
            + F.binary_cross_entropy_with_logits(outputs["energy"], energy)
            + F.cross_entropy(outputs["label"], labels)
        )

    losses = []
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_of(model(mel))
        loss.backward()
        optimizer.step()
        losses.append(loss.item())

    assert losses[-1] < 0.5 * losses[0]
    model.eval()
    with torch.no_grad():
        predicted = model(mel)["label"].argmax(dim=1)
    assert (predicted == labels).float().mean() > 0.9


def test_importing_models_does_not_import_transformers() -> None:
    code = "import sys, edm.models; assert 'transformers' not in sys.modules"

    subprocess.run([sys.executable, "-c", code], check=True)
