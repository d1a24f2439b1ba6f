"""Per-frame output heads and what their logits mean.

Every head outputs logits; the loss and the decoder apply the activation. Keeping sigmoid and
softmax out of the model lets the loss use the numerically stable ``*_with_logits`` forms:
``boundary``, ``beat``, ``downbeat`` and the three ``energy`` bands (targets in 0..1) take a
sigmoid (binary cross-entropy with logits; soft targets for energy), ``label`` a softmax over
its first non-batch dimension (cross-entropy).
"""

from __future__ import annotations

from torch import Tensor, nn

from edm.vocabulary import ENERGY_BANDS

BINARY_TASKS: tuple[str, ...] = ("boundary", "beat", "downbeat")
SIGMOID_TASKS: tuple[str, ...] = (*BINARY_TASKS, "energy")
TASKS: tuple[str, ...] = (*BINARY_TASKS, "energy", "label")


class MultiTaskHeads(nn.Module):
    """``(B, C, T)`` features → one 1x1 conv per task; the trunk already holds the context."""

    def __init__(self, in_channels: int, n_labels: int) -> None:
        super().__init__()
        widths = {task: 1 for task in BINARY_TASKS}
        widths |= {"energy": len(ENERGY_BANDS), "label": n_labels}
        self.heads = nn.ModuleDict(
            {task: nn.Conv1d(in_channels, width, kernel_size=1) for task, width in widths.items()}
        )

    def forward(self, features: Tensor) -> dict[str, Tensor]:
        outputs = {task: head(features) for task, head in self.heads.items()}
        for task in BINARY_TASKS:
            outputs[task] = outputs[task].squeeze(1)  # (B, 1, T) → (B, T)
        return outputs


def to_activations(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
    """Logits → probabilities: sigmoid for the binary tasks and energy, softmax over labels."""
    activations = {task: outputs[task].sigmoid() for task in SIGMOID_TASKS if task in outputs}
    if "label" in outputs:
        activations["label"] = outputs["label"].softmax(dim=1)
    return activations
