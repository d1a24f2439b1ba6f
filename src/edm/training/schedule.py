"""Learning-rate schedules, stepped once per batch: cosine or constant with linear warm-up,
or one-cycle (whose own ramp-up is the warm-up)."""

from __future__ import annotations

import math

import torch

from edm.training.config import TrainingConfig


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainingConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    total_steps = max(1, config.num_epochs * max(1, steps_per_epoch))
    warmup_steps = min(total_steps - 1, round(config.warmup_epochs * steps_per_epoch))
    if config.scheduler == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=config.learning_rate,
            total_steps=total_steps,
            pct_start=max(warmup_steps / total_steps, 0.05),
        )

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        if config.scheduler == "none":
            return 1.0
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
