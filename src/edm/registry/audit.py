"""The audit trail of stage changes, kept in the tracking store itself.

MLflow keeps no history of alias moves, so each stage change is written as one tag on the
registered model: key ``edm.audit.<epoch-ms>.<random>``, value a small JSON document. One tag
per entry means concurrent writers never overwrite each other (no read-modify-write), a whole
team sees the same trail, and reading it is one request.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from edm.registry.stages import Stage

AUDIT_TAG_PREFIX = "edm.audit."
MAX_REASON_CHARS = 1000  # registered-model tag values are bounded (5000 chars on MLflow 3)


@dataclass(frozen=True)
class AuditEntry:
    version: int
    from_stage: Stage
    to_stage: Stage
    user: str
    timestamp: datetime
    reason: str | None = None
    action: str = "promote"  # "promote" or "rollback"
    displaced_version: int | None = None  # the version that lost to_stage to this one
    forced: bool = False
    key: str = field(default="", compare=False)

    @classmethod
    def create(cls, **fields: object) -> AuditEntry:
        now = datetime.now(UTC)
        reason = fields.pop("reason", None)
        if isinstance(reason, str):
            reason = reason.strip()[:MAX_REASON_CHARS] or None
        key = f"{AUDIT_TAG_PREFIX}{int(now.timestamp() * 1000):013d}.{uuid.uuid4().hex[:12]}"
        return cls(timestamp=now, reason=reason, key=key, **fields)  # type: ignore[arg-type]

    def to_tag_value(self) -> str:
        doc = asdict(self)
        doc.pop("key")
        doc["from_stage"] = self.from_stage.value
        doc["to_stage"] = self.to_stage.value
        doc["timestamp"] = self.timestamp.isoformat()
        return json.dumps(doc, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_tag(cls, key: str, value: str) -> AuditEntry:
        doc = json.loads(value)
        return cls(
            version=int(doc["version"]),
            from_stage=Stage(doc["from_stage"]),
            to_stage=Stage(doc["to_stage"]),
            user=str(doc.get("user", "unknown")),
            timestamp=datetime.fromisoformat(doc["timestamp"]),
            reason=doc.get("reason"),
            action=str(doc.get("action", "promote")),
            displaced_version=doc.get("displaced_version"),
            forced=bool(doc.get("forced", False)),
            key=key,
        )

    def involves(self, version: int) -> bool:
        return version in (self.version, self.displaced_version)

    def to_dict(self) -> dict[str, object]:
        doc = json.loads(self.to_tag_value())
        return doc


def entries_from_tags(tags: Mapping[str, str]) -> list[AuditEntry]:
    """All audit entries among a registered model's tags, newest first.

    A tag that does not parse (edited by hand in the UI) is skipped rather than hiding the
    rest of the trail.
    """
    entries = []
    for key, value in tags.items():
        if not key.startswith(AUDIT_TAG_PREFIX):
            continue
        try:
            entries.append(AuditEntry.from_tag(key, value))
        except (ValueError, KeyError, TypeError):
            continue
    entries.sort(key=lambda e: (e.timestamp, e.key), reverse=True)
    return entries


def production_timeline(entries_newest_first: list[AuditEntry]) -> list[int]:
    """Replay the trail into the stack of production versions, the current one last.

    A promotion to Production pushes; a rollback pops back to the one before; taking the
    production version out of Production pops it. Rolling back twice therefore goes two
    production versions back, not back and forth.
    """
    stack: list[int] = []
    for entry in reversed(entries_newest_first):
        if entry.to_stage == Stage.PRODUCTION:
            if entry.action == "rollback" and stack:
                stack.pop()
            if not stack or stack[-1] != entry.version:
                stack.append(entry.version)
        elif entry.from_stage == Stage.PRODUCTION and stack and stack[-1] == entry.version:
            stack.pop()
    return stack
