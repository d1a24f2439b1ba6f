"""Changing stages: the gate, the promotion lock, the journal, the moves, the audit entry.

Each change runs under the model's promotion lock in three steps: write its intent (the
journal, ``journal``), move the aliases and tags, write the audit entry (the mark that it is
done). A failure the process sees puts the aliases and tags back as they were; a crash (kill
-9, power) leaves the intent, and the next promote, rollback or repair finishes the change
before its own (``settle``). That same settling records alias moves made outside edm as
``external`` entries, so the trail always explains what is in Production.

The steps have names for ``faults.pause_point`` (a test stops the process there and kills
it): ``locked``, ``intent``, ``move-1`` … ``move-N``, ``audited``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from edm import settings
from edm.errors import (
    ConfigError,
    InvalidTransitionError,
    ModelVersionNotFoundError,
    NoProductionModelError,
)
from edm.registry import journal
from edm.registry.audit import (
    AuditEntry,
    chain_tip,
    entries_from_tags,
    held_production,
    production_timeline,
)
from edm.registry.faults import pause_point
from edm.registry.journal import Intent, Move
from edm.registry.lock import LockHandle, registry_lock
from edm.registry.records import version_number
from edm.registry.stages import ARCHIVED_TAG, Stage, aliased_version, stage_of
from edm.registry.trail import drift

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from edm.registry.gate import PromotionGate
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection

log = logging.getLogger(__name__)
EXTERNAL_USER = "outside edm"


@dataclass(frozen=True)
class Settled:
    """What a promote, rollback or repair found and fixed before its own change."""

    finished: list[AuditEntry] = field(default_factory=list)  # crashed changes completed
    broken_locks: list[str] = field(default_factory=list)  # stale holders, described
    external: list[AuditEntry] = field(default_factory=list)  # alias moves made outside edm
    state: tuple[dict[str, Any], dict[str, str]] = ({}, {})  # aliases and tags, once settled

    def to_dict(self) -> dict[str, object]:
        return {
            "finished": [e.to_dict() for e in self.finished],
            "broken_locks": list(self.broken_locks),
            "external": [e.to_dict() for e in self.external],
        }

    @property
    def anything(self) -> bool:
        return bool(self.finished or self.broken_locks or self.external)


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
        """Move a version to a stage; the audit entry, or None when it was already there.

        A version that edm put in Production before goes back there as a rollback: the gate
        is for new candidates.
        """
        target = Stage.parse(stage)
        number = version_number(version, self.model_name)
        if force and not (reason or "").strip():
            raise ConfigError(
                "a forced promotion needs a reason: give reason=TEXT (CLI: --reason TEXT)"
            )
        with self._connection.errors(f"promoting version {number}"), self._lock() as lock:
            state = self._settle(lock).state
            action = "promote"
            if target == Stage.PRODUCTION and held_production(entries_from_tags(state[1]), number):
                action, gate = "rollback", None
            return self._change_stage(
                lock,
                state,
                number,
                target,
                reason,
                action=action,
                forced=force and action == "promote",
                gate=gate,
            )

    def rollback(
        self, reason: str | None, *, user: str | None = None, only_from: int | None = None
    ) -> AuditEntry:
        """Put back the version that was in Production before the current one.

        ``only_from``: roll back only while that version is in Production, checked under the
        lock, so that two callers acting on the same evidence roll back once, not twice.
        """
        with self._connection.errors("rolling back"), self._lock() as lock:
            state = self._settle(lock).state
            aliases, tags = state
            current = aliased_version(aliases, Stage.PRODUCTION)
            if current is None:
                raise NoProductionModelError(
                    f"no version of '{self.model_name}' is in Production: nothing to roll back"
                )
            if only_from is not None and current != only_from:
                raise InvalidTransitionError(
                    f"version {only_from} of '{self.model_name}' is no longer in Production "
                    f"(version {current} is): not rolled back"
                )
            timeline = production_timeline(entries_from_tags(tags))
            if len(timeline) < 2 or timeline[-1] != current:
                raise NoProductionModelError(
                    f"no earlier Production version of '{self.model_name}' is recorded "
                    f"before version {current}: nothing to roll back to"
                )
            entry = self._change_stage(
                lock, state, timeline[-2], Stage.PRODUCTION, reason, action="rollback", user=user
            )
        assert entry is not None  # the target is not the current production version
        return entry

    def record(
        self,
        version: int | str,
        action: str,
        reason: str,
        change: Callable[[], None],
        *,
        user: str | None = None,
    ) -> AuditEntry:
        """A change to a version that is not a stage change (``action`` "reference": its drift
        reference replaced): ``change`` runs under the lock, then the audit entry is written,
        with the version's stage on both sides. ``change`` failing writes no entry."""
        number = version_number(version, self.model_name)
        doing = f"recording a change of version {number}"
        with self._connection.errors(doing), self._lock() as lock:
            aliases, tags = self._settle(lock).state
            model_version = self._queries.get_version(number)
            if model_version is None:
                raise ModelVersionNotFoundError(self.model_name, number)
            stage = stage_of(number, aliases, model_version.tags)
            seq, prev = chain_tip(entries_from_tags(tags))
            entry = AuditEntry.create(
                version=number,
                from_stage=stage,
                to_stage=stage,
                user=user or settings.current_user(),
                reason=reason,
                action=action,
            ).chained(seq + 1, prev)
            change()
            journal.write_entry(self._connection.client, self.model_name, entry)
        return entry

    def repair(self) -> Settled:
        """Finish crashed changes, break stale locks, record alias moves made outside edm."""
        with self._connection.errors("repairing the registry"), self._lock() as lock:
            return self._settle(lock)

    def _lock(self) -> AbstractContextManager[LockHandle]:
        return registry_lock(self._connection.client, self.model_name)

    def _settle(self, lock: LockHandle) -> Settled:
        """Under the lock: finish what crashed holders left, then record alias drift."""
        client = self._connection.client
        finished: list[AuditEntry] = []
        broken: list[str] = []
        external: list[AuditEntry] = []
        pause_point("locked")
        for holder in list(lock.abandoned):
            broken.append(holder.describe())
            if holder.intent is not None:
                try:
                    intent = Intent.from_text(holder.intent)
                except (ValueError, KeyError, TypeError) as exc:
                    log.warning("unreadable promotion intent on %s: %s", holder.name, exc)
                else:
                    if journal.finish(client, self.model_name, intent):
                        log.warning("finished a crashed change: %s", intent.describe())
                        finished.append(intent.entry)
            lock.forget(holder)
        aliases, tags = self._queries.model_aliases_and_tags()
        entries = entries_from_tags(tags)
        seq, prev = chain_tip(entries)
        for found in drift(aliases, tags):
            if found.actual is not None:
                version, from_stage, to_stage = found.actual, Stage.NONE, found.stage
            else:
                assert found.recorded is not None
                version, from_stage, to_stage = found.recorded, found.stage, Stage.NONE
            seq += 1
            entry = AuditEntry.create(
                version=version,
                from_stage=from_stage,
                to_stage=to_stage,
                user=EXTERNAL_USER,
                reason=f"seen by {settings.current_user()}: {found}",
                action="external",
                displaced_version=found.recorded if found.actual is not None else None,
            ).chained(seq, prev)
            journal.write_entry(client, self.model_name, entry)
            prev = entry.hash or prev
            tags[entry.key] = entry.to_tag_value()
            external.append(entry)
        return Settled(finished, broken, external, (aliases, tags))

    def _change_stage(
        self,
        lock: LockHandle,
        state: tuple[dict[str, Any], dict[str, str]],
        version: int,
        target: Stage,
        reason: str | None,
        *,
        action: str,
        forced: bool = False,
        gate: PromotionGate | None = None,
        user: str | None = None,
    ) -> AuditEntry | None:
        """Apply one stage change through the journal. Caller holds the lock.

        ``gate`` is checked for a promotion to Production; None lets it through (a rollback,
        a registry without a gate). A forced promotion records the gate's verdict and passes.
        """
        model_version = self._queries.get_version(version)
        if model_version is None:
            raise ModelVersionNotFoundError(self.model_name, version)
        aliases, tags = state
        current = stage_of(version, aliases, model_version.tags)
        if current == target:
            return None
        if target == Stage.STAGING and current == Stage.PRODUCTION:
            raise InvalidTransitionError(
                f"version {version} is in Production: promote another version to Production "
                "before moving this one to Staging"
            )
        verdict = None
        if target == Stage.PRODUCTION and gate is not None:
            production = aliased_version(aliases, Stage.PRODUCTION)
            verdict = self._check_gate(gate, model_version, production, forced=forced)

        moves, displaced = _plan(version, target, aliases, model_version)
        seq, prev = chain_tip(entries_from_tags(tags))
        entry = AuditEntry.create(
            version=version,
            from_stage=current,
            to_stage=target,
            user=user or settings.current_user(),
            reason=reason,
            action=action,
            displaced_version=displaced,
            forced=forced,
            gate=verdict,
        ).chained(seq + 1, prev)
        client = self._connection.client
        lock.record_intent(Intent(entry, moves).to_text())
        pause_point("intent")
        undo: list[Callable[[], None]] = []
        now = journal.current_aliases(aliases)
        try:
            for number, move in enumerate(moves, start=1):
                step = journal.apply_move(client, self.model_name, move, now)
                if step is not None:
                    undo.append(step)
                pause_point(f"move-{number}")
            journal.write_entry(client, self.model_name, entry)
        except BaseException:  # Ctrl-C too: put things back, or leave the intent
            self._undo(lock, undo)
            raise
        pause_point("audited")
        return entry

    def _undo(self, lock: LockHandle, undo: list[Callable[[], None]]) -> None:
        """Put back what a failed change moved; if that fails too, leave the intent to the
        next taker of the lock (which finishes the change)."""
        try:
            for step in reversed(undo):
                step()
            lock.clear_intent()
        except Exception as exc:
            log.warning("could not undo a failed stage change (left to finish later): %s", exc)
            lock.keep = True

    def _check_gate(
        self, gate: PromotionGate, candidate: ModelVersion, production: int | None, *, forced: bool
    ) -> str:
        """The gate's verdict in one line for the audit entry; PromotionRefusedError unless it
        passes or ``forced`` (whose entry then says why the gate would have refused)."""
        from edm.errors import PromotionRefusedError
        from edm.registry.evaluations import evaluations, training_data

        production_version = (
            self._queries.get_version(production) if production is not None else None
        )
        run_ids = [candidate.run_id] + ([production_version.run_id] if production_version else [])
        runs = self._queries.runs_by_id(run_ids)
        client = self._connection.client
        version = int(candidate.version)
        run = runs.get(candidate.run_id)
        other = runs.get(production_version.run_id) if production_version else None
        arguments = (
            version,
            evaluations(client, run, version) if run else {},
            training_data(run) if run else None,
            production,
            evaluations(client, other, production or 0) if other else {},
        )
        if not forced:
            return gate.check(*arguments).summary()
        try:
            decision = gate.decide(*arguments)
        except PromotionRefusedError as refused:
            return f"forced past: {str(refused).splitlines()[0]}"
        prefix = "passed" if decision.passed else "forced past"
        return f"{prefix} {decision.summary()}"


def _plan(
    version: int, target: Stage, aliases: dict[str, object], model_version: ModelVersion
) -> tuple[tuple[Move, ...], int | None]:
    """The moves of one change, each a target state, and the version it displaces."""
    moves: list[Move] = []
    displaced = aliased_version(aliases, target)  # type: ignore[arg-type]
    if target.alias is not None:
        moves.append(("alias", target.alias, version))
    for stage in (Stage.PRODUCTION, Stage.STAGING):
        if stage != target and aliased_version(aliases, stage) == version:  # type: ignore[arg-type]
            moves.append(("alias", stage.alias or "", None))
    was_archived = str(model_version.tags.get(ARCHIVED_TAG, "")).lower() == "true"
    if (target == Stage.ARCHIVED) != was_archived:
        moves.append(("archived", version, target == Stage.ARCHIVED))
    if target == Stage.PRODUCTION and displaced is not None and displaced != version:
        moves.append(("archived", displaced, True))
    return tuple(moves), displaced if displaced != version else None
