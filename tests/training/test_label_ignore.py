"""Frames of a label outside the vocabulary teach the label head nothing (issue 33, point 5)."""

from __future__ import annotations

import torch

from edm.data.targets import IGNORE_INDEX
from edm.training.losses import multitask_loss
from edm.vocabulary import LABELS, UNLABELED


def _batch(labels: torch.Tensor) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    frames = labels.shape[-1]
    generator = torch.Generator().manual_seed(0)
    outputs = {
        "boundary": torch.zeros(1, frames),
        "beat": torch.zeros(1, frames),
        "downbeat": torch.zeros(1, frames),
        "label": torch.randn(1, len(LABELS), frames, generator=generator),
        "energy": torch.zeros(1, 3, frames),
    }
    batch = {
        "boundary": torch.zeros(1, frames),
        "beat": torch.zeros(1, frames),
        "downbeat": torch.zeros(1, frames),
        "label": labels,
        "energy": torch.zeros(1, 3, frames),
        "mask": torch.ones(1, frames, dtype=torch.bool),
    }
    return outputs, batch


def test_ignored_frames_neither_count_nor_dilute_the_label_loss() -> None:
    known = torch.full((1, 10), LABELS.index("drop"))
    outputs, batch = _batch(torch.cat([known, torch.full((1, 10), IGNORE_INDEX)], dim=1))
    with_ignored = multitask_loss(outputs, batch)["label"]
    only_known = multitask_loss(
        {k: v[..., :10] for k, v in outputs.items()}, {k: v[..., :10] for k, v in batch.items()}
    )["label"]
    assert torch.isclose(with_ignored, only_known)
    # Before issue 33 those frames were 'unlabeled', the silence class, and trained on.
    outputs, batch = _batch(torch.cat([known, torch.full((1, 10), UNLABELED)], dim=1))
    assert not torch.isclose(multitask_loss(outputs, batch)["label"], only_known)
