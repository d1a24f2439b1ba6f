"""What the MLflow UI shows of edm's store: experiments that open on runs and models (not the
GenAI view), and the audit trail's readable lines in the registered model's description."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from edm.registry import ModelRegistry
from edm.registry.audit import (
    DESCRIPTION_LIMIT,
    TRAIL_MARKER,
    AuditEntry,
    entries_from_tags,
    trail_description,
)
from edm.registry.runs import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG
from edm.registry.stages import Stage
from edm.settings import current_user


def test_edm_experiments_open_as_model_development(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    log_versions(1)
    experiment = registry.client.get_experiment_by_name(registry.experiment_name)
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


def test_a_version_names_who_registered_it_where_the_store_allows(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]], backend: str
) -> None:
    log_versions(1)
    version = registry.client.get_model_version(registry.model_name, "1")
    # MLflow's UI shows user_id as "Created by"; no MLflow API sets it, and through a tracking
    # server edm cannot either (the run's mlflow.user tag names the user there).
    assert version.user_id == (current_user() if backend != "http" else "")


def test_an_experiment_made_before_gets_its_kind_and_a_chosen_kind_stays(
    make_registry: Callable[..., ModelRegistry], checkpoint, names: dict[str, str]
) -> None:
    registry = make_registry()
    registry.client.create_experiment(names["experiment_name"])  # as MLflow or older edm did
    registry.log_model(
        model_path=checkpoint, run_name="old-experiment", params={}, metrics={"best_val_loss": 1.0}
    )
    tags = registry.client.get_experiment_by_name(names["experiment_name"]).tags
    assert tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND

    other = make_registry(experiment_name=names["experiment_name"] + "-finetune")
    other.client.create_experiment(other.experiment_name, tags={EXPERIMENT_KIND_TAG: "finetuning"})
    other.log_model(
        model_path=checkpoint, run_name="chosen-kind", params={}, metrics={"best_val_loss": 1.0}
    )
    assert (
        other.client.get_experiment_by_name(other.experiment_name).tags[EXPERIMENT_KIND_TAG]
        == "finetuning"
    )


def test_the_model_description_shows_the_audit_trail_newest_first(
    registry: ModelRegistry, log_versions: Callable[[int], list[str]]
) -> None:
    log_versions(2)
    registry.promote_model(1, "Staging", reason="evaluated")
    registry.promote_model(1, "Production", reason="first production")
    registry.promote_model(2, "Staging", reason="next candidate")

    model = registry.client.get_registered_model(registry.model_name)
    lines = [entry.to_tag_value() for entry in entries_from_tags(model.tags)]
    assert len(lines) == 3 and "reason: next candidate" in lines[0]
    description = model.description
    assert description.startswith("EDM track-structure models trained with edm.")
    shown = [line[2:] for line in description.splitlines() if line.startswith("- ")]
    assert shown == lines  # every entry, as the tags hold it, newest first
    assert registry.get_model_info(2)["stage"] == "Staging"


def _entry(version: int, minutes: int) -> AuditEntry:
    when = datetime(2026, 12, 6, tzinfo=UTC) + timedelta(minutes=minutes)
    return AuditEntry(
        key=f"edm.audit.{minutes:013d}.abc",
        version=version,
        from_stage=Stage.STAGING,
        to_stage=Stage.PRODUCTION,
        action="promote",
        user="alice",
        timestamp=when,
        reason="x" * 150,
    )


def test_a_long_trail_keeps_the_newest_entries_and_the_own_description() -> None:
    entries = [_entry(v, v) for v in range(60, 0, -1)]
    text = trail_description("Our own words.\n\n" + TRAIL_MARKER + " old", entries)
    assert len(text) <= DESCRIPTION_LIMIT
    assert text.startswith("Our own words.\n\n" + TRAIL_MARKER)
    assert text.count(TRAIL_MARKER) == 1
    shown = [line for line in text.splitlines() if line.startswith("- v")]
    assert shown[0].startswith("- v60 ") and 10 < len(shown) < 60
    assert text.rstrip().endswith(f"{60 - len(shown)} older entries: `edm models history`")
