"""Models that find the structure of EDM tracks: backbones, heads, checkpoints.

    from edm.models import ModelConfig, build_model, save_checkpoint, load_model

``transformers`` is imported only when a MERT backbone is built.
"""

from edm.models.checkpoint import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from edm.models.config import BACKBONES, ModelConfig
from edm.models.heads import TASKS, to_activations
from edm.models.multitask import MultiTaskModel, build_model, count_parameters, resample_frames

__all__ = [
    "BACKBONES",
    "CHECKPOINT_FORMAT",
    "FORMAT_VERSION",
    "TASKS",
    "ModelConfig",
    "MultiTaskModel",
    "build_model",
    "count_parameters",
    "load_checkpoint",
    "load_model",
    "resample_frames",
    "save_checkpoint",
    "to_activations",
]
