"""What training reports: events while it runs, and the TrainingResult at the end.

The trainer never draws anything. It hands each event to the callbacks its caller passed
(``Trainer(..., callbacks=[...])``); a callback is any callable taking one event, so a list's
``append`` records them and the CLI turns them into a progress bar. Events arrive in this
order, from the process that runs the loop (every process under ``torchrun``)::

    EpochStarted, BatchDone x num_batches, EpochDone   (once per epoch)
    EarlyStopped                                       (when patience runs out)
    TrainingFinished                                   (after the model is registered)

A callback that raises stops training like any other error (the run ends FAILED). Nothing here
imports torch: a shell can name these types without loading it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class TrainingResult:
    run_name: str
    output_dir: Path
    best_checkpoint: Path
    last_checkpoint: Path
    best_val_loss: float
    best_epoch: int
    epochs_run: int
    stopped_early: bool = False
    run_id: str | None = None
    model_version: int | None = None
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class EpochStarted:
    epoch: int  # from 0
    num_epochs: int
    num_batches: int


@dataclass(frozen=True)
class BatchDone:
    epoch: int
    batch: int  # batches done in this epoch, from 1
    num_batches: int
    losses: Mapping[str, float]  # running means over this epoch's batches: "loss", "<head>_loss"


@dataclass(frozen=True)
class EpochDone:
    epoch: int
    num_epochs: int
    metrics: Mapping[str, float]  # what the run logs: train_*, val_*, lr
    improved: bool  # val_loss is the best so far: best.pt was written
    best_val_loss: float
    best_epoch: int


@dataclass(frozen=True)
class EarlyStopped:
    epoch: int  # the last epoch run
    patience: int


@dataclass(frozen=True)
class TrainingFinished:
    result: TrainingResult


TrainingEvent = EpochStarted | BatchDone | EpochDone | EarlyStopped | TrainingFinished
TrainingCallback = Callable[[TrainingEvent], None]
