"""An untrained, very small cnn checkpoint: fast, for tests of plumbing rather than quality."""

from __future__ import annotations

from pathlib import Path

import torch

from edm.audio.features import FeatureParams
from edm.models import MultiTaskModel, save_checkpoint


def tiny_cnn_checkpoint(path: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    model = MultiTaskModel(
        "cnn", hidden_size=8, conv_channels=(4, 4), freq_pooling=(4, 4), temporal_dilations=(1, 2)
    )
    return save_checkpoint(path, model, feature_params=FeatureParams().to_dict())
