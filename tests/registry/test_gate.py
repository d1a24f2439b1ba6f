"""The promotion gate: Production only for a version measured at least as good as the
production one on the same held-out data, on every metric that matters, never on its own
training data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tests.gate_helpers import GOOD, digest_of, evaluated_on, trained_on

from edm.errors import ConfigError
from edm.registry import ModelRegistry, PromotionGate, PromotionRefusedError
from edm.registry.gate_rules import Rule

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
HELD_OUT = ("h1", "h2", "h3")


@pytest.fixture
def gated(make_registry: Callable[..., ModelRegistry]) -> ModelRegistry:
    return make_registry(promotion_gate=PromotionGate())


def version(registry: ModelRegistry, checkpoint: Path, folder: str, *names: str) -> int:
    registry.log_model(checkpoint, "r", {}, {"best_val_loss": 1.0})
    number = registry.list_models(max_results=1)[0]["version"]
    trained_on(registry, number, folder, *names)
    return number


def test_the_reproduction_each_version_scored_on_its_own_training_data_is_refused(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    """Issue 32: v1 evaluated on its training folder d, v2 on its own folder e, 0.333 > 0.286
    on boundaries: the numbers come from different data, both from training data."""
    one = version(gated, checkpoint, "d", "d1", "d2")
    evaluated_on(gated, one, "d", ("d1", "d2"), **{**GOOD, "boundary_f_0.5": 0.286})
    two = version(gated, checkpoint, "e", "e1", "e2")
    evaluated_on(gated, two, "e", ("e1", "e2"), **{**GOOD, "boundary_f_0.5": 0.333})
    gated.promote_model(one, "Production", reason="first model", force=True)
    with pytest.raises(PromotionRefusedError) as caught:
        gated.promote_model(two, "Production")
    message = str(caught.value)
    assert message.startswith("version 2 and production version 1 were never evaluated on the")
    assert "e (" in message and "= its training data" in message
    assert "edm evaluate HELD_OUT_DIR --model 1 --log && edm evaluate HELD_OUT_DIR --model 2" in (
        message
    )
    assert gated.current_versions()["Production"] == one
    # The same question with the held-out set named: the digest is the held-out set's.
    named = PromotionGate(holdout=digest_of("holdout"), holdout_dir="data/holdout")
    with pytest.raises(PromotionRefusedError, match="never evaluated on the held-out set"):
        ModelRegistry(
            tracking_uri=gated.tracking_uri,
            experiment_name=gated.experiment_name,
            model_name=gated.model_name,
            promotion_gate=named,
        ).promote_model(two, "Production")


def test_better_on_boundaries_but_02_worse_on_beats_is_refused_with_the_table(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    one = version(gated, checkpoint, "a", "a1", "a2")
    two = version(gated, checkpoint, "b", "b1", "b2")
    evaluated_on(gated, one, "holdout", HELD_OUT, **GOOD)
    worse_beats = {**GOOD, "boundary_f_0.5": 0.75, "beat_f": 0.7}
    evaluated_on(gated, two, "holdout", HELD_OUT, **worse_beats)
    assert gated.promote_model(one, "Production") is not None  # no production: it is measured
    with pytest.raises(PromotionRefusedError) as caught:
        gated.promote_model(two, "Production")
    first, *table = str(caught.value).splitlines()
    assert first.startswith(
        "version 2 fails the promotion gate on beat_f (against production version 1, both "
        "evaluated on holdout, 3 tracks, digest "
    )
    assert table[0].split() == ["metric", "v1", "v2", "rule", "verdict"]
    rows = {line.split()[0]: line for line in table[1:]}
    assert rows["beat_f"].split() == ["beat_f", "0.900", "0.700", "Δ", "≥", "-0.01", "FAIL"]
    assert rows["boundary_f_0.5"].split()[-1] == "pass"
    assert set(rows) == {r.metric for r in PromotionGate().rules}
    assert gated.current_versions()["Production"] == one
    entry = gated.promote_model(two, "Production", reason="accept the beat loss", force=True)
    assert entry is not None and entry.forced
    assert entry.gate is not None and entry.gate.startswith("forced past on holdout")
    assert "beat_f 0.900→0.700 Δ ≥ -0.01 FAIL" in gated.history()[0].gate


def test_same_digest_evaluations_are_found_across_runs_and_kept_side_by_side(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    one = version(gated, checkpoint, "a", "a1")
    two = version(gated, checkpoint, "b", "b1")
    evaluated_on(gated, one, "holdout", HELD_OUT, **GOOD)
    evaluated_on(gated, one, "other", ("o1",), **{**GOOD, "beat_f": 0.1})
    evaluated_on(gated, two, "holdout", HELD_OUT, **{**GOOD, "beat_f": 0.95})
    found = gated.evaluations(one)
    assert set(found) == {digest_of("holdout"), digest_of("other")}
    assert found[digest_of("holdout")].metrics["test_beat_f"] == 0.9  # not overwritten
    assert found[digest_of("holdout")].data.n_tracks == 3
    assert gated.evaluations(two)[digest_of("holdout")].data.tracks == (
        found[digest_of("holdout")].data.tracks
    )
    gated.promote_model(one, "Production")
    entry = gated.promote_model(two, "Production")
    assert entry is not None and entry.gate is not None
    assert entry.gate.startswith(f"on holdout ({digest_of('holdout')[:8]}): beat_f 0.900→0.950")
    assert gated.history()[0].gate == entry.gate  # stored in the trail, in the chain
    assert gated.verify_history().ok


def test_an_evaluation_on_training_data_is_refused_naming_the_overlap(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    one = version(gated, checkpoint, "a", "a1")
    leaky = version(gated, checkpoint, "b", "b1", "h2")  # a held-out track in its training
    evaluated_on(gated, one, "holdout", HELD_OUT, **GOOD)
    evaluated_on(gated, leaky, "holdout", HELD_OUT, **{**GOOD, "beat_f": 0.99})
    gated.promote_model(one, "Production")
    with pytest.raises(PromotionRefusedError) as caught:
        gated.promote_model(leaky, "Production")
    assert str(caught.value).startswith(
        f"version 2's evaluation on holdout (digest {digest_of('holdout')[:8]}) overlaps its "
        "training data: 1 of its 3 tracks (h2); a score on training data says nothing"
    )


def test_a_never_evaluated_version_is_refused_and_nothing_changes(
    gated: ModelRegistry, checkpoint: Path
) -> None:
    number = version(gated, checkpoint, "a", "a1")
    with pytest.raises(PromotionRefusedError, match="version 1 was never evaluated"):
        gated.promote_model(number, "Production")
    assert gated.history() == []
    with pytest.raises(ConfigError, match="needs a reason"):
        gated.promote_model(number, "Production", force=True)


def test_a_floor_holds_without_production(gated: ModelRegistry, checkpoint: Path) -> None:
    strict = PromotionGate(rules=(Rule("label_accuracy", floor=0.9),))
    number = version(gated, checkpoint, "a", "a1")
    evaluated_on(gated, number, "holdout", HELD_OUT, **GOOD)
    registry = ModelRegistry(
        tracking_uri=gated.tracking_uri,
        experiment_name=gated.experiment_name,
        model_name=gated.model_name,
        promotion_gate=strict,
    )
    with pytest.raises(PromotionRefusedError, match="fails the promotion gate on label_accuracy"):
        registry.promote_model(number, "Production")
