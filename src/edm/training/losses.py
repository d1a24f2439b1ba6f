"""The multitask loss: one term per head, each averaged over the valid (unpadded) frames.

Beats, downbeats and boundaries are sparse frame events, so their binary cross-entropy weighs
positive frames up (``pos_weight``); without it a model learns to predict "no event" everywhere.
Energy is a sigmoid output trained with BCE against targets in [0, 1]; labels use cross-entropy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

HEADS = ("boundary", "beat", "downbeat", "label", "energy")
EVENT_HEADS = ("boundary", "beat", "downbeat")


@dataclass(frozen=True)
class LossWeights:
    weights: Mapping[str, float] = field(
        default_factory=lambda: {
            "boundary": 1.0,
            "beat": 1.0,
            "downbeat": 1.0,
            "label": 0.5,
            "energy": 0.5,
        }
    )
    pos_weights: Mapping[str, float] = field(
        default_factory=lambda: {"boundary": 8.0, "beat": 4.0, "downbeat": 8.0}
    )


def _masked_mean(per_frame: Tensor, mask: Tensor) -> Tensor:
    mask = mask.to(per_frame.dtype)
    return (per_frame * mask).sum() / mask.sum().clamp_min(1.0)


def multitask_loss(
    outputs: Mapping[str, Tensor], batch: Mapping[str, Tensor], weights: LossWeights | None = None
) -> dict[str, Tensor]:
    """Per-head losses and their weighted sum under ``"total"``."""
    weights = weights or LossWeights()
    mask = batch["mask"]
    losses: dict[str, Tensor] = {}
    for head in EVENT_HEADS:
        logits = outputs[head].float()
        pos_weight = torch.tensor(weights.pos_weights.get(head, 1.0), device=logits.device)
        per_frame = F.binary_cross_entropy_with_logits(
            logits, batch[head].float(), pos_weight=pos_weight, reduction="none"
        )
        losses[head] = _masked_mean(per_frame, mask)
    label_per_frame = F.cross_entropy(outputs["label"].float(), batch["label"], reduction="none")
    # Frames of a label outside the vocabulary (targets.IGNORE_INDEX) teach nothing: the loss
    # is 0 there, and they are left out of the mean too.
    losses["label"] = _masked_mean(label_per_frame, mask & (batch["label"] >= 0))
    energy_per_frame = F.binary_cross_entropy_with_logits(
        outputs["energy"].float(), batch["energy"].float(), reduction="none"
    ).mean(dim=1)
    energy_mask = mask
    if "has_energy" in batch:  # tracks annotated without energy teach the other heads only
        energy_mask = mask & batch["has_energy"].bool().unsqueeze(-1)
    losses["energy"] = _masked_mean(energy_per_frame, energy_mask)
    losses["total"] = sum(weights.weights.get(h, 1.0) * losses[h] for h in HEADS)  # type: ignore[assignment]
    return losses


def loss_vector(losses: Mapping[str, Tensor]) -> Tensor:
    """One batch's losses as ``[*heads, total, 1]`` in float64 on the CPU: summed over batches
    (and across processes in one reduction), the last entry counts the batches."""
    values = [losses[h].detach().double().cpu() for h in (*HEADS, "total")]
    return torch.stack([*values, torch.ones((), dtype=torch.float64)])


def mean_losses(totals: Tensor) -> dict[str, float]:
    """Summed ``loss_vector``s → ``{"<head>_loss": mean, ..., "loss": mean}``."""
    batches = max(totals[-1].item(), 1.0)
    means = {f"{h}_loss": totals[i].item() / batches for i, h in enumerate(HEADS)}
    means["loss"] = totals[len(HEADS)].item() / batches
    return means
