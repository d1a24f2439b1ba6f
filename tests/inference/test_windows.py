from __future__ import annotations

import numpy as np
import pytest
import torch

from edm.inference.torch_network import TorchNetwork
from edm.inference.windows import plan_windows, predict_in_windows, receptive_radius_frames
from edm.models import MultiTaskModel
from edm.models.config import ModelConfig


def test_windows_tile_the_track_with_context_clipped_at_the_edges() -> None:
    windows = plan_windows(250, core_frames=100, context_frames=30)
    assert [(w.core_start, w.core_end) for w in windows] == [(0, 100), (100, 200), (200, 250)]
    assert [(w.input_start, w.input_end) for w in windows] == [(0, 130), (70, 230), (170, 250)]
    assert plan_windows(0, 100, 30) == []


def test_receptive_radius_of_the_cnn() -> None:
    config = ModelConfig(conv_channels=(4, 8), freq_pooling=(4, 4), temporal_dilations=(1, 2, 4))
    assert receptive_radius_frames(config) == 2 + 7


def test_stitched_windows_equal_one_pass_over_the_whole_track() -> None:
    torch.manual_seed(0)
    model = MultiTaskModel(
        "cnn",
        n_mels=16,
        hidden_size=8,
        conv_channels=(4, 4),
        freq_pooling=(2, 2),
        temporal_dilations=(1, 2, 4, 8),
    ).eval()
    features = np.random.default_rng(0).random((16, 700)).astype(np.float32)
    radius = receptive_radius_frames(model.config)
    assert radius is not None
    progress: list[tuple[int, int]] = []
    network = TorchNetwork(model)
    stitched = predict_in_windows(
        network,
        features,
        700,
        core_frames=150,
        context_frames=radius,
        on_progress=lambda done, total: progress.append((done, total)),
    )
    whole = predict_in_windows(network, features, 700, core_frames=700, context_frames=0)
    assert progress == [(1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]
    for task, values in whole.items():
        assert stitched[task].shape == values.shape
        assert np.allclose(stitched[task], values, atol=1e-5), task
    assert stitched["label"].sum(axis=0) == pytest.approx(np.ones(700), abs=1e-5)
