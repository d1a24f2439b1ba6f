"""Checking the audit trail: is the chain whole, and do the aliases agree with it?

``verify`` walks the hash chain (see ``audit``) and names each entry that was edited,
deleted or inserted. ``drift`` replays the trail into who should hold Production and Staging
and compares that with the aliases: a difference is a change made outside edm (the MLflow UI,
MLflow's own client), which the next promote, rollback or repair records as an ``external``
entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from edm.registry.audit import (
    GENESIS,
    STAGE_ACTIONS,
    AuditEntry,
    audit_tags,
    chain_order,
    entries_from_tags,
    entry_hash,
)
from edm.registry.stages import Stage, aliased_version


@dataclass(frozen=True)
class TrailProblem:
    kind: str  # "edited", "deleted", "inserted" or "unreadable"
    key: str  # the tag the problem was found at
    detail: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail} (tag {self.key})"


@dataclass(frozen=True)
class Verification:
    entries: int
    chained: int  # entries written with a hash (the rest predate the chain)
    problems: tuple[TrailProblem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "chained": self.chained,
            "problems": [p.to_dict() for p in self.problems],
        }


def verify(tags: Mapping[str, str]) -> Verification:
    """Check every audit tag of a registered model against the chain."""
    problems: list[TrailProblem] = []
    entries: list[AuditEntry] = []
    for key, value in sorted(audit_tags(tags).items()):
        try:
            entries.append(AuditEntry.from_tag(key, value))
        except (ValueError, KeyError, TypeError, AttributeError):
            problems.append(TrailProblem("unreadable", key, "the entry no longer parses"))
    entries.sort(key=chain_order)
    first_chained = next((e for e in entries if not e.legacy), None)
    inserted = _duplicates(entries)
    prev, expected_seq = GENESIS, 1
    for entry in entries:
        if entry.legacy:
            if first_chained is not None and entry.timestamp > first_chained.timestamp:
                problems.append(
                    TrailProblem(
                        "inserted",
                        entry.key,
                        f"an entry in the old format dated after the chain began "
                        f"(v{entry.version} → {entry.to_stage.value})",
                    )
                )
                continue
            prev, expected_seq = entry_hash(entry, prev), expected_seq + 1
            continue
        assert entry.seq is not None and entry.prev is not None
        label = f"#{entry.seq} (v{entry.version} → {entry.to_stage.value})"
        if entry.key in inserted:
            problems.append(
                TrailProblem("inserted", entry.key, f"entry {label} takes another's place")
            )
            continue  # the chain goes on from the entry before it
        if entry_hash(entry, entry.prev) != entry.hash:
            problems.append(TrailProblem("edited", entry.key, f"entry {label} was changed"))
        if entry.prev != prev:
            if entry.seq > expected_seq:
                missing = entry.seq - expected_seq
                problems.append(
                    TrailProblem(
                        "deleted",
                        entry.key,
                        f"{missing} entr{'y' if missing == 1 else 'ies'} missing before {label}",
                    )
                )
            elif entry.seq < expected_seq:
                problems.append(
                    TrailProblem("inserted", entry.key, f"entry {label} does not belong here")
                )
                continue  # the chain goes on from the entry before it
            else:
                problems.append(
                    TrailProblem(
                        "edited" if expected_seq > 1 else "inserted",
                        entry.key,
                        f"the entries before {label} were changed (it links to {entry.prev}, "
                        f"they end at {prev})",
                    )
                )
        prev, expected_seq = entry.hash or prev, entry.seq + 1
    return Verification(
        entries=len(entries),
        chained=sum(1 for e in entries if not e.legacy),
        problems=tuple(problems),
    )


def _duplicates(entries: list[AuditEntry]) -> set[str]:
    """Keys of entries that claim a place in the chain another entry holds: of each group,
    the first whose hash verifies is the original."""
    by_seq: dict[int, list[AuditEntry]] = {}
    for entry in entries:
        if entry.seq is not None:
            by_seq.setdefault(entry.seq, []).append(entry)
    extra: set[str] = set()
    for group in by_seq.values():
        if len(group) < 2:
            continue
        valid = [e for e in group if e.prev is not None and entry_hash(e, e.prev) == e.hash]
        original = (valid or group)[0]
        extra.update(e.key for e in group if e is not original)
    return extra


@dataclass(frozen=True)
class Drift:
    """A stage alias that does not point where the trail says it should."""

    stage: Stage
    recorded: int | None  # per the trail
    actual: int | None  # per the alias

    def to_dict(self) -> dict[str, object]:
        return {"stage": self.stage.value, "recorded": self.recorded, "actual": self.actual}

    def __str__(self) -> str:
        def name(version: int | None) -> str:
            return "no version" if version is None else f"version {version}"

        return (
            f"{self.stage.value} is on {name(self.actual)} but the audit trail says "
            f"{name(self.recorded)}: the '{self.stage.alias}' alias was changed outside edm"
        )


def expected_holders(entries_newest_first: list[AuditEntry]) -> dict[Stage, int | None]:
    """Who holds Production and Staging after replaying the trail."""
    holders: dict[Stage, int | None] = {Stage.PRODUCTION: None, Stage.STAGING: None}
    for entry in reversed(entries_newest_first):
        if entry.action not in STAGE_ACTIONS:  # a drift reference replaced: no stage moved
            continue
        for stage in holders:
            # An alias set outside edm moved only itself: the version keeps its other alias.
            moved_alone = entry.action == "external" and entry.to_stage != Stage.NONE
            if holders[stage] == entry.version and stage != entry.to_stage and not moved_alone:
                holders[stage] = None
        if entry.to_stage in holders:
            holders[entry.to_stage] = entry.version
    return holders


def drift(aliases: Mapping[str, str | int], tags: Mapping[str, str]) -> list[Drift]:
    expected = expected_holders(entries_from_tags(tags))
    found = []
    for stage, recorded in expected.items():
        actual = aliased_version(aliases, stage)
        if actual != recorded:
            found.append(Drift(stage, recorded, actual))
    return found
