"""The trainer's checkpoints: ``best.pt`` and ``last.pt`` each epoch, and resuming from a
``last.pt``, which also carries the optimizer, the scheduler and the run's bookkeeping."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from edm.errors import ConfigError
from edm.models import MultiTaskModel, load_checkpoint, save_checkpoint
from edm.training.config import TrainingConfig
from edm.training.events import TrainingResult

BEST = "best.pt"
LAST = "last.pt"


@dataclass
class ResumeState:
    """Where training picks up: a fresh start, or what a ``last.pt`` recorded."""

    start_epoch: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = -1
    epochs_without_improvement: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    run_id: str | None = None
    run_name: str | None = None
    output_dir: Path | None = None


def save_training_checkpoint(
    path: Path,
    model: MultiTaskModel,
    config: TrainingConfig,
    feature_params: Mapping[str, Any],
    epoch: int,
    metrics: Mapping[str, float],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    result: TrainingResult | None = None,
    epochs_without_improvement: int = 0,
) -> None:
    """``best.pt`` (no ``result``): weights only; ``last.pt``: all that resuming needs."""
    extra: dict[str, Any] = {"training_config": json.loads(config.model_dump_json())}
    if result is not None:
        extra |= {
            "run_name": result.run_name,
            "run_id": result.run_id,
            "best_val_loss": result.best_val_loss,
            "best_epoch": result.best_epoch,
            "epochs_without_improvement": epochs_without_improvement,
            "history": result.history,
        }
    save_checkpoint(
        path,
        model,
        feature_params=feature_params,
        extra=extra,
        optimizer_state=optimizer.state_dict() if optimizer else None,
        scheduler_state=scheduler.state_dict() if scheduler else None,
        epoch=epoch,
        metrics=dict(metrics),
    )


def resume_from(
    path: Path,
    model: MultiTaskModel,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    device: torch.device,
    *,
    continue_run: bool,
) -> ResumeState:
    """Load a ``last.pt`` into ``model``, ``optimizer`` and ``scheduler``.

    ``continue_run``: keep logging to the run the checkpoint names (with a registry).
    """
    checkpoint = load_checkpoint(path, map_location=device)
    extra = checkpoint.get("extra") or {}
    if checkpoint.get("optimizer_state") is None or "best_val_loss" not in extra:
        raise ConfigError(f"--resume {path}: not a last.pt written by the trainer")
    if checkpoint["model_config"] != model.config.to_dict():
        raise ConfigError(f"--resume {path}: its model config differs from this model's")
    model.load_state_dict(checkpoint["state_dict"])
    optimizer.load_state_dict(checkpoint["optimizer_state"])
    if checkpoint.get("scheduler_state") is not None:
        scheduler.load_state_dict(checkpoint["scheduler_state"])
    return ResumeState(
        start_epoch=int(checkpoint["epoch"]) + 1,
        best_val_loss=float(extra["best_val_loss"]),
        best_epoch=int(extra["best_epoch"]),
        epochs_without_improvement=int(extra.get("epochs_without_improvement", 0)),
        history=list(extra.get("history", [])),
        run_id=extra.get("run_id") if continue_run else None,
        run_name=extra.get("run_name"),
        output_dir=Path(path).parent,
    )
