"""Changing stages: the gate, the promotion lock, the alias and tag moves, the audit entry.

Each change runs under the model's promotion lock and records how to undo every step it took,
so a failure half-way puts the aliases and tags back as they were.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, suppress
from typing import TYPE_CHECKING, Any

from mlflow.exceptions import MlflowException

from edm import settings
from edm.errors import (
    ConfigError,
    InvalidTransitionError,
    ModelVersionNotFoundError,
    NoProductionModelError,
)
from edm.registry.audit import AuditEntry, entries_from_tags, production_timeline
from edm.registry.lock import registry_lock
from edm.registry.records import version_number
from edm.registry.stages import ARCHIVED_TAG, Stage, aliased_version, stage_of

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from edm.registry.gate import PromotionGate
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection

Undo = list[Callable[[], None]]


class Promotion:
    """Stage changes of one registered model."""

    def __init__(self, connection: StoreConnection, queries: Queries) -> None:
        self._connection = connection
        self._queries = queries
        self.model_name = queries.model_name

    def promote(
        self,
        version: int | str,
        stage: str,
        reason: str | None,
        *,
        force: bool,
        gate: PromotionGate | None,
    ) -> AuditEntry | None:
        """Move a version to a stage; the audit entry, or None when it was already there."""
        target = Stage.parse(stage)
        number = version_number(version, self.model_name)
        if force and not (reason or "").strip():
            raise ConfigError(
                "a forced promotion needs a reason: give reason=TEXT (CLI: --reason TEXT)"
            )
        with self._connection.errors(f"promoting version {number}"), self._lock():
            return self._change_stage(
                number, target, reason, action="promote", forced=force, gate=None if force else gate
            )

    def rollback(self, reason: str | None) -> AuditEntry:
        """Put back the version that was in Production before the current one."""
        with self._connection.errors("rolling back"), self._lock():
            aliases, tags = self._queries.model_aliases_and_tags()
            current = aliased_version(aliases, Stage.PRODUCTION)
            if current is None:
                raise NoProductionModelError(
                    f"no version of '{self.model_name}' is in Production: nothing to roll back"
                )
            timeline = production_timeline(entries_from_tags(tags))
            if len(timeline) < 2 or timeline[-1] != current:
                raise NoProductionModelError(
                    f"no earlier Production version of '{self.model_name}' is recorded "
                    f"before version {current}: nothing to roll back to"
                )
            entry = self._change_stage(timeline[-2], Stage.PRODUCTION, reason, action="rollback")
        assert entry is not None  # the target is not the current production version
        return entry

    def _lock(self) -> AbstractContextManager[None]:
        return registry_lock(self._connection.client, self.model_name)

    def _change_stage(
        self,
        version: int,
        target: Stage,
        reason: str | None,
        *,
        action: str,
        forced: bool = False,
        gate: PromotionGate | None = None,
    ) -> AuditEntry | None:
        """Apply one stage change; on failure undo what was done. Caller holds the lock.

        ``gate`` is checked for a promotion to Production; None lets it through (a forced
        promotion, a rollback, a registry without a gate).
        """
        model_version = self._queries.get_version(version)
        if model_version is None:
            raise ModelVersionNotFoundError(self.model_name, version)
        aliases, _ = self._queries.model_aliases_and_tags()
        current = stage_of(version, aliases, model_version.tags)
        if current == target:
            return None
        if target == Stage.STAGING and current == Stage.PRODUCTION:
            raise InvalidTransitionError(
                f"version {version} is in Production: promote another version to Production "
                "before moving this one to Staging"
            )
        if target == Stage.PRODUCTION and gate is not None:
            self._check_gate(gate, model_version, aliased_version(aliases, Stage.PRODUCTION))

        undo: Undo = []
        try:
            displaced = self._apply_stage(version, current, target, aliases, model_version, undo)
            entry = AuditEntry.create(
                version=version,
                from_stage=current,
                to_stage=target,
                user=settings.current_user(),
                reason=reason,
                action=action,
                displaced_version=displaced,
                forced=forced,
            )
            self._connection.client.set_registered_model_tag(
                self.model_name, entry.key, entry.to_tag_value()
            )
        except BaseException:
            for step in reversed(undo):
                with suppress(MlflowException):
                    step()
            raise
        return entry

    def _check_gate(
        self, gate: PromotionGate, candidate: ModelVersion, production: int | None
    ) -> None:
        production_version = (
            self._queries.get_version(production) if production is not None else None
        )
        run_ids = [candidate.run_id] + ([production_version.run_id] if production_version else [])
        runs = self._queries.runs_by_id(run_ids)

        def metrics_of(model_version: ModelVersion | None) -> dict[str, float]:
            run = runs.get(model_version.run_id) if model_version else None
            return dict(run.data.metrics) if run else {}

        gate.check(
            int(candidate.version),
            metrics_of(candidate),
            production,
            metrics_of(production_version),
        )

    def _apply_stage(
        self,
        version: int,
        current: Stage,
        target: Stage,
        aliases: Mapping[str, Any],
        model_version: ModelVersion,
        undo: Undo,
    ) -> int | None:
        """Move aliases and tags for one change, recording how to undo each step."""
        client, name = self._connection.client, self.model_name
        displaced: int | None = None

        def set_alias(alias: str, to_version: int) -> None:
            before = aliases.get(alias)
            client.set_registered_model_alias(name, alias, str(to_version))
            if before is None:
                undo.append(lambda: client.delete_registered_model_alias(name, alias))
            else:
                undo.append(lambda: client.set_registered_model_alias(name, alias, str(before)))

        def drop_alias(alias: str) -> None:
            before = aliases[alias]
            client.delete_registered_model_alias(name, alias)
            undo.append(lambda: client.set_registered_model_alias(name, alias, str(before)))

        def set_archived(of_version: int, archived: bool) -> None:
            if archived:
                client.set_model_version_tag(name, str(of_version), ARCHIVED_TAG, "true")
                undo.append(
                    lambda: client.delete_model_version_tag(name, str(of_version), ARCHIVED_TAG)
                )
            else:
                client.delete_model_version_tag(name, str(of_version), ARCHIVED_TAG)
                undo.append(
                    lambda: client.set_model_version_tag(
                        name, str(of_version), ARCHIVED_TAG, "true"
                    )
                )

        if target.alias is not None:
            displaced = aliased_version(aliases, target)
            set_alias(target.alias, version)
        for stage in (Stage.PRODUCTION, Stage.STAGING):
            if stage != target and aliased_version(aliases, stage) == version:
                drop_alias(stage.alias or "")
        was_archived = ARCHIVED_TAG in model_version.tags
        if target == Stage.ARCHIVED and not was_archived:
            set_archived(version, True)
        elif target != Stage.ARCHIVED and was_archived:
            set_archived(version, False)
        if target == Stage.PRODUCTION and displaced is not None and displaced != version:
            set_archived(displaced, True)
        return displaced if displaced != version else None
