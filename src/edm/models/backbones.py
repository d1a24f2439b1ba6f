"""Backbone names → modules. Every backbone maps its input to ``(B, output_size, T')``."""

from __future__ import annotations

from typing import Any

from torch import nn

from edm.models.cnn import CnnBackbone
from edm.models.config import ModelConfig


def build_backbone(config: ModelConfig, architecture: dict[str, Any] | None = None) -> nn.Module:
    """The backbone ``config`` names.

    ``architecture`` is the pretrained encoder's stored config (from a checkpoint): given, the
    encoder is built empty from it instead of loading pretrained weights.
    """
    if config.backbone == "cnn":
        return CnnBackbone(config)
    # Imported here: the MERT path pulls in transformers only when it is used.
    from edm.models.mert import build_mert_backbone

    return build_mert_backbone(config, architecture)
