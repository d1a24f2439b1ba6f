from __future__ import annotations

import io
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm

from edm.synth import SynthConfig, write_synthetic_dataset


def test_train_without_registry_and_its_errors(run_edm: RunEdm, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_synthetic_dataset(data, 3, seed=3, config=SynthConfig(min_seconds=40, max_seconds=45))
    (data / "broken.yaml").write_text("audio: {file: missing.wav}\n")
    result = run_edm(
        "train", str(data), "--no-registry", "--epochs", "1", "--batch-size", "4",
        "--crop-seconds", "6", "--run-name", "cli", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "skipped" in result.stderr and "broken.yaml" in result.stderr
    assert "Trained cli on 2 tracks (validation: 1)" in result.stdout
    assert (tmp_path / "outputs" / "cli" / "best.pt").is_file()
    assert not (tmp_path / "mlruns").exists()

    bad_tag = run_edm("train", str(data), "--tag", "novalue")
    assert bad_tag.exit_code == 1 and "--tag 'novalue' is not KEY=VALUE" in bad_tag.stderr
    missing = run_edm("train", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "nowhere" in missing.stderr
    bad_scheduler = run_edm("train", str(data), "--scheduler", "linear")
    assert bad_scheduler.exit_code == 1 and "'scheduler'" in bad_scheduler.stderr


def test_progress_draws_the_trainer_events_on_a_terminal() -> None:
    from rich.console import Console
    from rich.progress import Progress, TextColumn

    from edm.cli.train_progress import _EpochBars
    from edm.training.events import BatchDone, EpochDone, EpochStarted

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, color_system=None)
    with Progress(
        TextColumn("{task.description} {task.completed}/{task.total} {task.fields[losses]}"),
        console=console,
        auto_refresh=False,
    ) as bars:
        draw = _EpochBars(bars)
        draw(EpochStarted(epoch=0, num_epochs=2, num_batches=3))
        draw(BatchDone(epoch=0, batch=1, num_batches=3, losses={"beat_loss": 0.5, "loss": 1.25}))
        bars.refresh()
        running = screen.getvalue()
        metrics = {"train_loss": 1.0, "val_loss": 0.75}
        draw(EpochDone(0, 2, metrics, improved=True, best_val_loss=0.75, best_epoch=0))
    assert "epoch 1/2 1/3 beat=0.500 loss=1.250" in running
    assert "train 1.0000  val 0.7500  best" in screen.getvalue()


def test_a_bar_only_when_asked_on_a_terminal_on_rank_0(monkeypatch: pytest.MonkeyPatch) -> None:
    from edm.cli import train_progress

    def callbacks(wanted: bool) -> int:
        with train_progress.training_progress(wanted) as given:
            return len(given)

    monkeypatch.setenv("RANK", "0")
    assert callbacks(True) == 0  # pytest's stderr is no terminal
    monkeypatch.setattr(train_progress.err_console, "_force_terminal", True)
    assert callbacks(True) == 1
    assert callbacks(False) == 0
    monkeypatch.setenv("RANK", "1")
    assert callbacks(True) == 0
