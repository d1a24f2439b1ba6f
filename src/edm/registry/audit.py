"""The audit trail of stage changes, kept in the tracking store itself, as a hash chain.

MLflow keeps no history of alias moves, so each stage change is written as one tag on the
registered model: key ``edm.audit.<epoch-ms>.<random>``, value one readable line, e.g.::

    v2 Staging → Production · promote · by alice · 2026-11-27T01:50:00.123+00:00 · #3 ·
    displaced v1 · prev 4f1c0a9e2b7d3e11 · hash 9a0e7c21d4b3f860 · reason: better F1

One tag per entry means concurrent writers never overwrite each other (no read-modify-write),
a whole team sees the same trail in the MLflow UI, and reading it is one request.

Each entry carries its number in the trail (``#3``), the hash of the entry before it
(``prev``) and its own hash over its content and ``prev``: an entry edited, deleted or
inserted through the UI or MLflow's client breaks the chain, which ``trail.verify`` reports.
Entries written before the chain existed (a JSON document per tag) are still read; they are
hashed the same way when read, and the first chained entry links to the last of them, so
they are covered too from then on. Nothing is rewritten.

The chain has no secret: it detects changes made by hand, not a forger who recomputes every
later hash. ``trail.drift`` compares the aliases with the trail, which also catches a rewritten
trail that no longer matches what is in Production.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from edm.registry.stages import Stage

AUDIT_TAG_PREFIX = "edm.audit."
MAX_REASON_CHARS = 1000  # registered-model tag values are bounded (5000 chars on MLflow 3)
MAX_GATE_CHARS = 2500
GENESIS = "0" * 16
# "reference": a version's drift reference replaced (no stage change: the stage on both sides)
ACTIONS = ("promote", "rollback", "external", "reference")
STAGE_ACTIONS = ("promote", "rollback", "external")
_SEP = " · "
_REASON = _SEP + "reason: "
_CHANGE = re.compile(r"^v(\d+) (\w+) → (\w+)$")


@dataclass(frozen=True)
class AuditEntry:
    version: int
    from_stage: Stage
    to_stage: Stage
    user: str
    timestamp: datetime
    reason: str | None = None
    action: str = "promote"  # "promote", "rollback" or "external" (an alias moved outside edm)
    displaced_version: int | None = None  # the version that lost to_stage to this one
    forced: bool = False
    key: str = field(default="", compare=False)
    seq: int | None = None  # position in the trail, from 1; None for an entry from before
    prev: str | None = None  # hash of the entry before; None for an entry from before
    hash: str | None = None  # None for an entry from before the chain (computed when read)
    gate: str | None = None  # the promotion gate's table in one line (edm.registry.gate)

    @classmethod
    def create(cls, **fields: object) -> AuditEntry:
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # round-trips in text
        reason = fields.pop("reason", None)
        if isinstance(reason, str):
            reason = reason.strip()[:MAX_REASON_CHARS] or None
        gate = fields.get("gate")
        if isinstance(gate, str):
            fields["gate"] = gate.replace(_SEP, "; ")[:MAX_GATE_CHARS]
        key = f"{AUDIT_TAG_PREFIX}{int(now.timestamp() * 1000):013d}.{uuid.uuid4().hex[:12]}"
        return cls(timestamp=now, reason=reason, key=key, **fields)  # type: ignore[arg-type]

    def chained(self, seq: int, prev: str) -> AuditEntry:
        """This entry as the ``seq``-th of the trail, after the entry whose hash is ``prev``."""
        linked = replace(self, seq=seq, prev=prev, hash=None)
        return replace(linked, hash=entry_hash(linked, prev))

    @property
    def legacy(self) -> bool:
        """Written before the hash chain (a JSON tag)."""
        return self.seq is None

    def to_tag_value(self) -> str:
        """The readable one-line form stored in the tag."""
        parts = [
            f"v{self.version} {self.from_stage.value} → {self.to_stage.value}",
            self.action,
            f"by {self.user}",
            self.timestamp.isoformat(timespec="milliseconds"),
            f"#{self.seq}",
        ]
        if self.displaced_version is not None:
            parts.append(f"displaced v{self.displaced_version}")
        if self.forced:
            parts.append("forced")
        if self.gate:
            parts.append(f"gate {self.gate}")
        parts += [f"prev {self.prev}", f"hash {self.hash}"]
        text = _SEP.join(parts)
        return text + (_REASON + self.reason if self.reason else "")

    @classmethod
    def from_tag(cls, key: str, value: str) -> AuditEntry:
        """Parse either form; raise ValueError (or KeyError, TypeError) when it does not."""
        if value.lstrip().startswith("{"):
            return _from_json(key, value)
        head, _, reason = value.partition(_REASON)
        parts = head.split(_SEP)
        if len(parts) < 7:
            raise ValueError(f"audit entry {key}: too few fields")
        change = _CHANGE.match(parts[0])
        if change is None or parts[1] not in ACTIONS or not parts[2].startswith("by "):
            raise ValueError(f"audit entry {key}: unreadable change")
        fields: dict[str, object] = {}
        for part in parts[4:]:
            if part.startswith("#"):
                fields["seq"] = int(part[1:])
            elif part.startswith("displaced v"):
                fields["displaced_version"] = int(part.removeprefix("displaced v"))
            elif part == "forced":
                fields["forced"] = True
            elif part.startswith("gate "):
                fields["gate"] = part.removeprefix("gate ")
            elif part.startswith("prev "):
                fields["prev"] = part.removeprefix("prev ")
            elif part.startswith("hash "):
                fields["hash"] = part.removeprefix("hash ")
            else:
                raise ValueError(f"audit entry {key}: unknown field {part!r}")
        if not all(name in fields for name in ("seq", "prev", "hash")):
            raise ValueError(f"audit entry {key}: no chain fields")
        timestamp = datetime.fromisoformat(parts[3])
        if timestamp.tzinfo is None:
            raise ValueError(f"audit entry {key}: timestamp without a time zone")
        return cls(
            version=int(change.group(1)),
            from_stage=Stage(change.group(2)),
            to_stage=Stage(change.group(3)),
            user=parts[2].removeprefix("by "),
            timestamp=timestamp,
            reason=reason or None,
            action=parts[1],
            key=key,
            **fields,  # type: ignore[arg-type]
        )

    def involves(self, version: int) -> bool:
        return version in (self.version, self.displaced_version)

    def content(self) -> dict[str, object]:
        """What the hash covers: everything but the key and the hashes (``gate`` when set,
        so entries written before it hash as they did)."""
        doc: dict[str, object] = {
            "version": self.version,
            "from_stage": self.from_stage.value,
            "to_stage": self.to_stage.value,
            "user": self.user,
            "timestamp": self.timestamp.isoformat(),
            "reason": self.reason,
            "action": self.action,
            "displaced_version": self.displaced_version,
            "forced": self.forced,
            "seq": self.seq,
        }
        if self.gate is not None:
            doc["gate"] = self.gate
        return doc

    def to_dict(self) -> dict[str, object]:
        doc = self.content()
        doc.update(key=self.key, prev=self.prev, hash=self.hash)
        return doc


def entry_hash(entry: AuditEntry, prev: str) -> str:
    canonical = json.dumps(entry.content(), separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(f"{prev}\n{canonical}".encode()).hexdigest()[:16]


def _from_json(key: str, value: str) -> AuditEntry:
    doc = json.loads(value)
    timestamp = datetime.fromisoformat(doc["timestamp"])
    displaced = doc.get("displaced_version")
    return AuditEntry(
        version=int(doc["version"]),
        from_stage=Stage(doc["from_stage"]),
        to_stage=Stage(doc["to_stage"]),
        user=str(doc.get("user", "unknown")),
        timestamp=timestamp,
        reason=doc.get("reason"),
        action=str(doc.get("action", "promote")),
        displaced_version=int(displaced) if displaced is not None else None,
        forced=bool(doc.get("forced", False)),
        key=key,
    )


def audit_tags(tags: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in tags.items() if k.startswith(AUDIT_TAG_PREFIX)}


def chain_order(entry: AuditEntry) -> tuple[int, int, datetime, str]:
    """Entries from before the chain first (by time), then the chain by its numbers."""
    if entry.seq is None:
        return (0, 0, entry.timestamp, entry.key)
    return (1, entry.seq, entry.timestamp, entry.key)


def entries_from_tags(tags: Mapping[str, str]) -> list[AuditEntry]:
    """All audit entries among a registered model's tags, newest first.

    A tag that does not parse (edited by hand in the UI) is skipped rather than hiding the
    rest of the trail; ``trail.verify`` reports it.
    """
    entries = []
    for key, value in audit_tags(tags).items():
        try:
            entries.append(AuditEntry.from_tag(key, value))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    entries.sort(key=chain_order, reverse=True)
    return entries


def chain_tip(entries_newest_first: list[AuditEntry]) -> tuple[int, str]:
    """The number and hash the next entry links to."""
    seq, prev = 0, GENESIS
    for entry in reversed(entries_newest_first):
        seq = entry.seq if entry.seq is not None else seq + 1
        prev = entry.hash if entry.hash is not None else entry_hash(entry, prev)
    return seq, prev


def production_timeline(entries_newest_first: list[AuditEntry]) -> list[int]:
    """Replay the trail into the stack of production versions, the current one last.

    A promotion to Production pushes; a rollback goes back to its version, dropping the ones
    above it (or pushes it, when it was dropped before); taking the production version out
    of Production pops it. Rolling back twice
    therefore goes two production versions back, not back and forth.
    """
    stack: list[int] = []
    for entry in reversed(entries_newest_first):
        if entry.action not in STAGE_ACTIONS:
            continue
        if entry.to_stage == Stage.PRODUCTION:
            if entry.action == "rollback" and entry.version in stack:
                del stack[stack.index(entry.version) + 1 :]
            if not stack or stack[-1] != entry.version:
                stack.append(entry.version)
        elif entry.from_stage == Stage.PRODUCTION and stack and stack[-1] == entry.version:
            stack.pop()
    return stack


def held_production(entries_newest_first: list[AuditEntry], version: int) -> bool:
    """Whether edm put ``version`` in Production before (an alias moved outside edm does not
    count: it never passed the gate)."""
    return any(
        e.version == version and e.to_stage == Stage.PRODUCTION and e.action != "external"
        for e in entries_newest_first
    )


# The registered model's description shows the trail in the MLflow UI (the tags stay the
# record; the description is rebuilt from them after every entry). MLflow's SQL stores keep at
# most 5,000 characters of it.
TRAIL_MARKER = "**Audit trail**"
DESCRIPTION_LIMIT = 5000


def trail_description(current: str | None, entries_newest_first: list[AuditEntry]) -> str:
    """The description with its audit trail section rebuilt: one readable line per entry.

    Whatever precedes the section (the model's own description) is kept; the newest entries
    that fit are shown, and the line after them says how many older ones
    ``edm models history`` lists.
    """
    own = (current or "").split(TRAIL_MARKER, 1)[0].rstrip()
    head = (
        f"{own}\n\n" if own else ""
    ) + f"{TRAIL_MARKER} (newest first; `edm models history --verify` checks it):\n\n"
    lines: list[str] = []
    size = len(head) + 100  # room for the closing line
    for entry in entries_newest_first:
        line = f"- {entry.to_tag_value()}"
        if size + len(line) + 1 > DESCRIPTION_LIMIT:
            break
        lines.append(line)
        size += len(line) + 1
    left = len(entries_newest_first) - len(lines)
    if left:
        lines.append(f"- … {left} older entries: `edm models history`")
    return head + "\n".join(lines) + "\n"
