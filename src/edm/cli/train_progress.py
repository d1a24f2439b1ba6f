"""``edm train``'s progress bar: the trainer's events drawn on stderr, one bar per epoch."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from edm.cli.output import err_console
from edm.training.events import (
    BatchDone,
    EpochDone,
    EpochStarted,
    TrainingCallback,
    TrainingEvent,
)


def is_main_process() -> bool:
    """Under torchrun every rank runs the command; rank 0 speaks for all."""
    return os.environ.get("RANK", "0") == "0"


@contextmanager
def training_progress(wanted: bool) -> Iterator[list[TrainingCallback]]:
    """The callbacks to pass to training: a bar when ``wanted``, on rank 0, and stderr is a
    terminal; none otherwise (a log or a pipe gets the summary lines only)."""
    if not (wanted and is_main_process() and err_console.is_terminal):
        yield []
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[losses]}"),
        console=err_console,
    ) as bars:
        yield [_EpochBars(bars)]


class _EpochBars:
    """One bar per epoch that stays on screen, ending with that epoch's train and val loss."""

    def __init__(self, bars: Any) -> None:
        self.bars = bars
        self.task: Any = None

    def __call__(self, event: TrainingEvent) -> None:
        match event:
            case EpochStarted(epoch=epoch, num_epochs=num_epochs, num_batches=num_batches):
                self.task = self.bars.add_task(
                    f"epoch {epoch + 1}/{num_epochs}", total=num_batches, losses=""
                )
            case BatchDone(batch=batch, losses=losses) if self.task is not None:
                self.bars.update(self.task, completed=batch, losses=_running(losses))
            case EpochDone(metrics=metrics, improved=improved) if self.task is not None:
                summary = f"train {metrics['train_loss']:.4f}  val {metrics['val_loss']:.4f}"
                self.bars.update(self.task, losses=summary + ("  best" if improved else ""))


def _running(losses: Mapping[str, float]) -> str:
    return " ".join(f"{name.removesuffix('_loss')}={value:.3f}" for name, value in losses.items())
