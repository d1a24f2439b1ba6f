"""Models that find the structure of EDM tracks: backbones, heads, checkpoints.

    from edm.models import ModelConfig, build_model, save_checkpoint, load_model

Names are imported on first use (PEP 562): ``edm.models.config`` is plain Python, and reading a
model's configuration (the ONNX inference path, ``edm analyze`` with a cached version) must not
pay for importing torch. ``transformers`` is imported only when a MERT backbone is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edm.models.checkpoint import (
        CHECKPOINT_FORMAT,
        FORMAT_VERSION,
        load_checkpoint,
        load_model,
        save_checkpoint,
    )
    from edm.models.config import BACKBONES, ModelConfig
    from edm.models.heads import TASKS, to_activations
    from edm.models.multitask import (
        MultiTaskModel,
        build_model,
        count_parameters,
        resample_frames,
    )

_HOMES = {
    "CHECKPOINT_FORMAT": "checkpoint",
    "FORMAT_VERSION": "checkpoint",
    "load_checkpoint": "checkpoint",
    "load_model": "checkpoint",
    "save_checkpoint": "checkpoint",
    "BACKBONES": "config",
    "ModelConfig": "config",
    "TASKS": "heads",
    "to_activations": "heads",
    "MultiTaskModel": "multitask",
    "build_model": "multitask",
    "count_parameters": "multitask",
    "resample_frames": "multitask",
}

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


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'edm.models' has no attribute '{name}'")
    value = getattr(import_module(f"edm.models.{home}"), name)
    globals()[name] = value
    return value
