"""The promotion gate: Production only for a version measured at least as good."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from edm.errors import ConfigError
from edm.registry import ModelRegistry, PromotionGate, PromotionRefusedError

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def gated(make_registry: Callable[..., ModelRegistry]) -> ModelRegistry:
    return make_registry(promotion_gate=PromotionGate())


def log(registry: ModelRegistry, checkpoint: Path, **metrics: float) -> int:
    registry.log_model(checkpoint, "r", {}, {"best_val_loss": 1.0, **metrics})
    return registry.list_models(max_results=1)[0]["version"]


def test_an_evaluated_version_passes_when_there_is_no_production(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    version = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.6})
    assert gated.promote_model(version, "Production") is not None


def test_a_never_evaluated_version_is_refused_and_nothing_changes(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    version = log(gated, checkpoint)
    with pytest.raises(PromotionRefusedError, match="version 1 was never evaluated") as caught:
        gated.promote_model(version, "Production")
    assert "test_boundary_f_0.5" in str(caught.value) and "edm evaluate" in str(caught.value)
    assert gated.history() == []
    assert gated.current_versions()["Production"] is None


def test_a_worse_version_is_refused_with_both_figures(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    good = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.82})
    worse = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.75})
    gated.promote_model(good, "Production")
    with pytest.raises(PromotionRefusedError) as caught:
        gated.promote_model(worse, "Production")
    assert str(caught.value).startswith(
        "version 2 is worse than production version 1 on test_boundary_f_0.5: 0.7500 < 0.8200"
    )
    assert gated.current_versions()["Production"] == good
    better = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.9})
    assert gated.promote_model(better, "Production") is not None  # a better one goes through


def test_force_needs_a_reason_and_is_recorded(gated: ModelRegistry, checkpoint: Path) -> None:
    good = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.82})
    worse = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.5})
    gated.promote_model(good, "Production")
    with pytest.raises(ConfigError, match="needs a reason"):
        gated.promote_model(worse, "Production", force=True)
    entry = gated.promote_model(worse, "Production", reason="hotfix for label drift", force=True)
    assert entry is not None and entry.forced and entry.reason == "hotfix for label drift"
    assert gated.history()[0].forced is True
    assert gated.get_model_info(worse)["audit"][0]["forced"] is True


def test_the_primary_metric_is_configurable(
    make_registry: Callable[..., ModelRegistry], checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    by_beats = make_registry(promotion_gate=PromotionGate(metric="test_beat_f"))
    first = log(by_beats, checkpoint, test_beat_f=0.95, **{"test_boundary_f_0.5": 0.5})
    second = log(by_beats, checkpoint, test_beat_f=0.90, **{"test_boundary_f_0.5": 0.9})
    by_beats.promote_model(first, "Production")
    with pytest.raises(PromotionRefusedError, match=r"test_beat_f: 0\.9000 < 0\.9500"):
        by_beats.promote_model(second, "Production")
    monkeypatch.setenv("EDM_GATE_METRIC", "test_boundary_f_0.5")
    assert make_registry(promotion_gate=PromotionGate()).promote_model(second, "Production")


def test_staging_and_rollback_are_not_gated(gated: ModelRegistry, checkpoint: Path) -> None:
    first = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.9})
    second = log(gated, checkpoint, **{"test_boundary_f_0.5": 0.95})
    unevaluated = log(gated, checkpoint)
    gated.promote_model(unevaluated, "Staging")
    gated.promote_model(first, "Production")
    gated.promote_model(second, "Production")
    assert gated.rollback(reason="bad in the field").version == first
