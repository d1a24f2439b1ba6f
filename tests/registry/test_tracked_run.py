"""start_run: the run a trainer logs into while it trains; never left RUNNING."""

from __future__ import annotations

from pathlib import Path

import pytest

from edm.registry import ModelRegistry


def test_metrics_per_step_then_register(registry: ModelRegistry, checkpoint: Path) -> None:
    with registry.start_run("live", tags={"experiment": "curves"}) as run:
        for epoch in range(3):
            run.log_metrics({"train_loss": 1.0 / (epoch + 1), "lr": 0.1}, step=epoch)
            assert registry.client.get_run(run.run_id).info.status == "RUNNING"
        run.log_params({"backbone": "cnn"})
        version = run.register(checkpoint)
    history = registry.client.get_metric_history(run.run_id, "train_loss")
    assert [(m.step, m.value) for m in history] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    finished = registry.client.get_run(run.run_id)
    assert finished.info.status == "FINISHED"
    assert finished.data.tags["edm.model_version"] == str(version) == "1"
    assert finished.data.tags["experiment"] == "curves"


@pytest.mark.parametrize(
    ("error", "status"), [(RuntimeError, "FAILED"), (KeyboardInterrupt, "KILLED")]
)
def test_an_exception_ends_the_run_failed_or_killed(
    registry: ModelRegistry, error: type[BaseException], status: str
) -> None:
    with pytest.raises(error), registry.start_run("crash") as run:
        run.log_metrics({"train_loss": 1.0}, step=0)
        raise error("boom")
    assert registry.client.get_run(run.run_id).info.status == status
    assert registry.list_models() == []


def test_a_resumed_run_logs_into_the_same_run(registry: ModelRegistry, checkpoint: Path) -> None:
    with pytest.raises(KeyboardInterrupt), registry.start_run("first-half") as run:
        run.log_metrics({"val_loss": 0.9}, step=0)
        raise KeyboardInterrupt
    with registry.start_run("ignored", resume_run_id=run.run_id) as resumed:
        assert resumed.run_name == "first-half"
        resumed.log_metrics({"val_loss": 0.5}, step=1)
        resumed.register(checkpoint)
    steps = registry.client.get_metric_history(run.run_id, "val_loss")
    assert [m.step for m in steps] == [0, 1]
    assert registry.client.get_run(run.run_id).info.status == "FINISHED"
