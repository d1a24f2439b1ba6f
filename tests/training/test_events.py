"""The trainer reports progress as events to its caller's callbacks, and draws nothing itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from edm.registry import ModelRegistry
from edm.training import TrainingConfig
from edm.training.events import (
    BatchDone,
    EarlyStopped,
    EpochDone,
    EpochStarted,
    TrainingEvent,
    TrainingFinished,
)
from edm.training.pipeline import train_from_directory


def _config(tmp_path: Path, **overrides: object) -> TrainingConfig:
    values: dict[str, object] = {
        "num_epochs": 3,
        "batch_size": 4,
        "crop_seconds": 8.0,
        "val_fraction": 0.34,
        "output_dir": tmp_path / "outputs",
        "run_name": "events",
    }
    return TrainingConfig.create(**(values | overrides))


def test_events_arrive_in_order_epoch_by_epoch(synth_data: Path, tmp_path: Path) -> None:
    events: list[TrainingEvent] = []
    # Patience 1 with an unreachable improvement: two epochs, then an early stop.
    cfg = _config(tmp_path, early_stopping_patience=1, early_stopping_min_delta=1e9)
    result = train_from_directory(synth_data, cfg, callbacks=[events.append]).result

    kinds = [type(event).__name__ for event in events]
    per_epoch = ["EpochStarted", *["BatchDone"] * _batches(events), "EpochDone"]
    assert kinds == [*per_epoch, *per_epoch, "EarlyStopped", "TrainingFinished"]

    started = [e for e in events if isinstance(e, EpochStarted)]
    assert [(e.epoch, e.num_epochs) for e in started] == [(0, 3), (1, 3)]
    batches = [e for e in events if isinstance(e, BatchDone)]
    assert [e.batch for e in batches] == [*range(1, _batches(events) + 1)] * 2
    assert all(e.num_batches == started[0].num_batches for e in batches)
    assert {"loss", "beat_loss", "label_loss"} <= batches[-1].losses.keys()

    done = [e for e in events if isinstance(e, EpochDone)]
    assert [(e.epoch, e.improved, e.best_epoch) for e in done] == [(0, True, 0), (1, False, 0)]
    assert [dict(e.metrics) for e in done] == [
        {k: v for k, v in h.items() if k != "epoch"} for h in result.history
    ]
    assert isinstance(events[-2], EarlyStopped) and events[-2].epoch == 1
    assert isinstance(events[-1], TrainingFinished) and events[-1].result is result


def _batches(events: list[TrainingEvent]) -> int:
    return next(e.num_batches for e in events if isinstance(e, EpochStarted))


def test_training_writes_nothing_to_stdout_or_stderr(
    synth_data: Path,
    tmp_path: Path,
    store_uri: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """edm's own code prints nothing; MLflow's chatter (its INFO log, its download bars) is
    switched off by the settings every entry point applies, as here."""
    import logging

    from edm import settings

    for name, value in settings.mlflow_environment_defaults().items():
        monkeypatch.setenv(name, value)
    # MLFLOW_LOGGING_LEVEL takes effect when mlflow is first imported, long before this test.
    monkeypatch.setattr(logging.getLogger("mlflow"), "level", logging.WARNING)
    capfd.readouterr()
    registry = ModelRegistry(tracking_uri=store_uri)
    job = train_from_directory(synth_data, _config(tmp_path, num_epochs=1), registry)
    assert job.result.model_version == 1
    assert capfd.readouterr() == ("", "")
