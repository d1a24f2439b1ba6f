"""The registry's trust on a real SQLite store: the spec's rollback through ``promote``, the
hash-chained audit trail (edited, deleted, inserted entries found, through MLflow's own
client), alias changes made outside edm, and stores whose trail predates the chain."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from edm.errors import EdmError, NoProductionModelError, PromotionRefusedError
from edm.registry import ModelRegistry, PromotionGate, Stage
from edm.registry.audit import AUDIT_TAG_PREFIX
from edm.registry.trail import Drift

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def gated(make_registry: Callable[..., ModelRegistry], checkpoint: Path) -> ModelRegistry:
    """Three versions scored 0.7, 0.9 and 0.5, the Production gate on."""
    from tests.gate_helpers import evaluated_on

    from edm.registry.gate_rules import Rule

    registry = make_registry(promotion_gate=PromotionGate(rules=(Rule("boundary_f_0.5", 0.0),)))
    for i, score in enumerate([0.7, 0.9, 0.5], start=1):
        registry.log_model(checkpoint, f"run-{i}", {}, {})
        evaluated_on(registry, i, "holdout", ("h1",), **{"boundary_f_0.5": score})
    return registry


def own_client(registry: ModelRegistry) -> MlflowClient:
    """MLflow's own client: what a user of the MLflow UI or API changes things with."""
    return MlflowClient(tracking_uri=registry.tracking_uri, registry_uri=registry.tracking_uri)


def audit_tags(registry: ModelRegistry) -> dict[str, str]:
    tags = own_client(registry).get_registered_model(registry.model_name).tags
    return {k: v for k, v in sorted(tags.items()) if k.startswith(AUDIT_TAG_PREFIX)}


def stages(registry: ModelRegistry) -> dict[int, str]:
    return {m["version"]: m["stage"] for m in registry.list_models()}


# ---------------------------------------------------------------- 1. the spec's rollback


def test_a_former_production_version_goes_back_past_the_gate_as_a_rollback(
    gated: ModelRegistry,
) -> None:
    gated.promote_model(1, "Production")
    gated.promote_model(2, "Production")
    entry = gated.promote_model(1, "Production", reason="v2 misses drops")  # 0.7 < 0.9: no force
    assert entry is not None
    assert (entry.action, entry.forced, entry.displaced_version) == ("rollback", False, 2)
    assert stages(gated) == {3: "None", 2: "Archived", 1: "Production"}
    refused = r"version 3 fails the promotion gate on boundary_f_0.5 \(against production version 1"
    with pytest.raises(PromotionRefusedError, match=refused):
        gated.promote_model(3, "Production")  # a new candidate still meets the gate
    with pytest.raises(NoProductionModelError, match="before version 1"):
        gated.rollback()  # rolled back to the first: nothing earlier left


def test_a_version_put_in_production_outside_edm_is_no_former_production(
    gated: ModelRegistry,
) -> None:
    gated.promote_model(1, "Production")
    own_client(gated).set_registered_model_alias(gated.model_name, "production", "3")
    gated.promote_model(1, "Production")  # takes it back: a rollback (edm promoted it before)
    with pytest.raises(PromotionRefusedError, match="version 3 fails the promotion gate"):
        gated.promote_model(3, "Production")
    assert [e.action for e in gated.history()] == ["rollback", "external", "promote"]


# ---------------------------------------------------------------- 3. a tamper-evident trail


@pytest.fixture
def four_changes(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> ModelRegistry:
    log_versions(3)
    registry.promote_model(1, "Production", reason="first")
    registry.promote_model(2, "Staging")
    registry.promote_model(2, "Production", reason="better")
    registry.promote_model(3, "Staging")
    return registry


def test_the_trail_reads_as_one_line_per_change_and_verifies(four_changes: ModelRegistry) -> None:
    values = list(audit_tags(four_changes).values())
    assert len(values) == 4
    assert not any(v.startswith("{") for v in values)  # no raw JSON in the model's tags
    assert values[0].startswith("v1 None → Production · promote · by tester · ")
    assert values[0].endswith(" · reason: first")
    check = four_changes.verify_history()
    assert (check.ok, check.entries, check.chained) == (True, 4, 4)


def test_verify_reports_an_edited_entry(four_changes: ModelRegistry) -> None:
    key, value = list(audit_tags(four_changes).items())[2]
    own_client(four_changes).set_registered_model_tag(
        four_changes.model_name, key, value.replace("reason: better", "reason: approved by QA")
    )
    [problem] = four_changes.verify_history().problems
    assert (problem.kind, problem.key) == ("edited", key)
    assert "#3 (v2 → Production) was changed" in problem.detail


def test_verify_reports_a_deleted_entry(four_changes: ModelRegistry) -> None:
    keys = list(audit_tags(four_changes))
    own_client(four_changes).delete_registered_model_tag(four_changes.model_name, keys[1])
    [problem] = four_changes.verify_history().problems
    assert (problem.kind, problem.key) == ("deleted", keys[2])
    assert "1 entry missing before #3" in problem.detail


def test_verify_reports_an_inserted_entry(four_changes: ModelRegistry) -> None:
    tags = audit_tags(four_changes)
    keys = list(tags)
    forged_key = keys[1][:-3] + "zzz"  # sorts between the second and the third entry
    forged = tags[keys[1]].replace("v2 None → Staging", "v3 None → Staging")
    own_client(four_changes).set_registered_model_tag(four_changes.model_name, forged_key, forged)
    [problem] = four_changes.verify_history().problems
    assert (problem.kind, problem.key) == ("inserted", forged_key)
    # a copy of a real entry under another key is an insertion too
    own_client(four_changes).set_registered_model_tag(
        four_changes.model_name, keys[0] + "copy", tags[keys[0]]
    )
    kinds = sorted(p.kind for p in four_changes.verify_history().problems)
    assert kinds == ["inserted", "inserted"]


def test_verify_reports_an_entry_that_no_longer_parses(four_changes: ModelRegistry) -> None:
    key = next(iter(audit_tags(four_changes)))
    own_client(four_changes).set_registered_model_tag(four_changes.model_name, key, "edited")
    problems = four_changes.verify_history().problems
    assert ("unreadable", key) in [(p.kind, p.key) for p in problems]
    assert len(four_changes.history()) == 3  # the rest of the trail still reads


# ---------------------------------------------------------------- 3. changes made outside edm


def test_an_alias_moved_outside_edm_is_seen_and_recorded_at_the_next_change(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    log_versions(3)
    registry.promote_model(1, "Production")
    assert registry.alias_drift() == []
    own_client(registry).set_registered_model_alias(registry.model_name, "production", "2")
    assert registry.alias_drift() == [Drift(Stage.PRODUCTION, recorded=1, actual=2)]
    assert registry.check_registry().damaged

    registry.promote_model(3, "Staging")  # records the outside change first
    assert registry.alias_drift() == []
    staged, external, first = registry.history()
    assert (external.action, external.user, external.version) == ("external", "outside edm", 2)
    assert (external.to_stage, external.displaced_version) == (Stage.PRODUCTION, 1)
    assert "was changed outside edm" in (external.reason or "")
    assert staged.version == 3 and first.version == 1
    assert registry.verify_history().ok
    registry.rollback()  # the trail explains Production: back to the version before it
    assert registry.stage_holders().production == 1


def test_an_alias_deleted_outside_edm_is_recorded_by_repair(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    log_versions(2)
    registry.promote_model(2, "Staging")
    own_client(registry).delete_registered_model_alias(registry.model_name, "staging")
    settled = registry.repair()
    [entry] = settled.external
    assert (entry.version, entry.from_stage, entry.to_stage) == (2, Stage.STAGING, Stage.NONE)
    assert registry.repair().anything is False  # recorded once
    assert not registry.check_registry().damaged


# ---------------------------------------------------------------- 3. stores from before the chain


def test_a_store_written_the_old_way_keeps_its_history(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    """Entries in the old ``edm.audit.*`` JSON form are read, and anchored by the first new
    entry: nothing is rewritten, nothing lost, and from then on their edits are found too."""
    log_versions(3)
    client = own_client(registry)
    old = [
        (1, "None", "Production", None, "2025-06-01T10:00:00.000001+00:00"),
        (2, "None", "Production", 1, "2025-06-02T10:00:00.000002+00:00"),
    ]
    for version, frm, to, displaced, when in old:
        doc = {
            "action": "promote",
            "displaced_version": displaced,
            "forced": False,
            "from_stage": frm,
            "reason": f"old {version}",
            "timestamp": when,
            "to_stage": to,
            "user": "bob",
            "version": version,
        }
        key = f"{AUDIT_TAG_PREFIX}{1748772000000 + version:013d}.{version:012x}"
        client.set_registered_model_tag(
            registry.model_name, key, json.dumps(doc, separators=(",", ":"), sort_keys=True)
        )
    client.set_registered_model_alias(registry.model_name, "production", "2")
    client.set_model_version_tag(registry.model_name, "1", "archived", "true")

    assert [(e.version, e.reason) for e in registry.history()] == [(2, "old 2"), (1, "old 1")]
    assert registry.alias_drift() == []
    assert registry.verify_history().ok  # nothing to check yet: no chained entry
    registry.promote_model(3, "Production")
    assert [e.version for e in registry.history()] == [3, 2, 1]
    check = registry.verify_history()
    assert (check.ok, check.entries, check.chained) == (True, 3, 1)
    registry.rollback()  # the old entries still count
    assert registry.stage_holders().production == 2

    old_key = next(k for k, v in audit_tags(registry).items() if v.startswith("{"))
    client.set_registered_model_tag(
        registry.model_name, old_key, audit_tags(registry)[old_key].replace("bob", "eve")
    )
    assert [p.kind for p in registry.verify_history().problems] == ["edited"]


# ---------------------------------------------------------------- 2. a failure the process sees


class FailingClient:
    """The real client, except that archiving a version fails (a store error half-way)."""

    def __init__(self, client: object) -> None:
        self._client = client

    def __getattr__(self, name: str) -> object:
        if name == "set_model_version_tag":

            def fail(*args: object, **kwargs: object) -> None:
                raise MlflowException("the store went away", error_code="INTERNAL_ERROR")

            return fail
        return getattr(self._client, name)


def test_a_change_that_fails_half_way_is_put_back_and_leaves_no_lock(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    log_versions(2)
    registry.promote_model(1, "Production")
    registry.promote_model(2, "Staging")
    real = registry.client
    registry.connection._client = FailingClient(real)  # type: ignore[assignment]
    try:
        with pytest.raises(EdmError, match="the store went away"):
            registry.promote_model(2, "Production")  # moves two aliases, then fails to archive
    finally:
        registry.connection._client = real
    assert stages(registry) == {2: "Staging", 1: "Production"}
    assert len(registry.history()) == 2
    assert not registry.check_registry().damaged
    found = real.search_registered_models(f"name LIKE '{registry.model_name}%'")
    assert [m.name for m in found] == [registry.model_name]


def test_the_pause_hook_is_inert_unless_both_variables_are_set(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edm.registry.faults import ENV_PAUSE_AT, ENV_PAUSE_FILE, pause_point

    marker = tmp_path / "paused"
    pause_point("intent")  # nothing set: returns at once
    monkeypatch.setenv(ENV_PAUSE_AT, "intent")
    pause_point("intent")  # no file named: still nothing
    monkeypatch.setenv(ENV_PAUSE_FILE, str(marker))
    pause_point("move-1")  # another step
    assert not marker.exists()
