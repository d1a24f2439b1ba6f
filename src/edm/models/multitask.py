"""The multi-task model: one backbone, one head per structure task, outputs on the target frames."""

from __future__ import annotations

from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from edm.errors import ModelError
from edm.models.backbones import build_backbone
from edm.models.config import ModelConfig
from edm.models.heads import MultiTaskHeads


class MultiTaskModel(nn.Module):
    """Backbone + heads for ``boundary``, ``beat``, ``downbeat``, ``energy`` and ``label``.

    ``MultiTaskModel("cnn", dropout=0.2)`` or ``MultiTaskModel(config)``; keyword options are
    ``ModelConfig`` fields. Input: log-mel ``(B, n_mels, T)`` for ``cnn``, mono 24 kHz audio
    ``(B, samples)`` for MERT. Outputs are logits (see ``edm.models.heads``):
    ``boundary``/``beat``/``downbeat`` ``(B, T_out)``, ``energy`` ``(B, 3, T_out)``, ``label``
    ``(B, n_labels, T_out)``.
    """

    def __init__(
        self,
        backbone: str | ModelConfig = "cnn",
        *,
        backbone_architecture: dict[str, Any] | None = None,
        **options: Any,
    ) -> None:
        super().__init__()
        if isinstance(backbone, ModelConfig):
            config = backbone.replace(**options) if options else backbone
        else:
            try:
                config = ModelConfig(backbone=backbone, **options)
            except TypeError as error:  # an option that is no ModelConfig field
                raise ModelError(f"invalid model option: {error}") from error
        self.config = config
        self.backbone = build_backbone(config, backbone_architecture)
        self.heads = MultiTaskHeads(self.backbone.output_size, config.n_labels)

    @property
    def labels(self) -> tuple[str, ...]:
        return self.config.labels

    def backbone_architecture(self) -> dict[str, Any] | None:
        """What a checkpoint needs, beyond the config, to rebuild the backbone without weights."""
        architecture: dict[str, Any] | None = self.backbone.architecture()
        return architecture

    def forward(self, x: Tensor, n_frames: int | None = None) -> dict[str, Tensor]:
        """Logits per task; with ``n_frames``, resampled in time to exactly that many frames.

        ``n_frames`` lets targets at 50 fps line up whatever the backbone's own frame rate
        (the cnn keeps the input's frames, MERT emits 75 per second).
        """
        outputs = self.heads(self.backbone(x))
        if n_frames is not None:
            outputs = {task: resample_frames(value, n_frames) for task, value in outputs.items()}
        return outputs


def resample_frames(values: Tensor, n_frames: int) -> Tensor:
    """Linear interpolation along the last (time) axis of a ``(B, T)`` or ``(B, C, T)`` tensor."""
    if n_frames < 1:
        raise ModelError(f"n_frames must be at least 1, got {n_frames}")
    if values.shape[-1] == n_frames:
        return values
    if values.dim() == 2:
        return F.interpolate(values.unsqueeze(1), size=n_frames, mode="linear").squeeze(1)
    return F.interpolate(values, size=n_frames, mode="linear")


def build_model(
    config: ModelConfig, *, backbone_architecture: dict[str, Any] | None = None
) -> MultiTaskModel:
    """The model ``config`` describes (pretrained MERT weights unless an architecture is given)."""
    return MultiTaskModel(config, backbone_architecture=backbone_architecture)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)
