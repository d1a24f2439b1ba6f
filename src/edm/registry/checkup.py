"""Reading the registry's trust state without changing it: what ``edm doctor`` and
``edm models history --verify`` report.

- unfinished promotions: a lock generation whose holder is gone (crashed) with an intent;
- promotions in progress: a live holder (nothing wrong, shown for the record);
- alias drift: a stage alias that does not point where the audit trail says;
- the audit chain: entries edited, deleted or inserted.

``edm models repair`` (``Promotion.repair``) fixes the first and records the third.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edm.registry.journal import Intent
from edm.registry.lock import Holder, holders
from edm.registry.trail import Drift, Verification, drift, verify

if TYPE_CHECKING:
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection


@dataclass(frozen=True)
class Unfinished:
    """A change a crashed process left: who, since when, and what it was doing."""

    holder: Holder
    change: str | None  # None when it crashed before moving anything

    def to_dict(self) -> dict[str, object]:
        return {
            "lock": self.holder.name,
            "owner": self.holder.owner,
            "since": self.holder.since.isoformat(),
            "expires": self.holder.expires.isoformat(),
            "stale": self.holder.stale,
            "change": self.change,
        }

    def __str__(self) -> str:
        what = self.change or "nothing moved yet"
        return f"{what}; lock {self.holder.describe()}"


@dataclass(frozen=True)
class RegistryCheck:
    unfinished: tuple[Unfinished, ...]  # crashed holders: repair finishes them
    in_progress: tuple[Unfinished, ...]  # live holders: nothing to do
    drift: tuple[Drift, ...]
    verification: Verification

    @property
    def damaged(self) -> bool:
        # A stale lock that moved nothing is no damage: the next taker just breaks it.
        half_done = any(u.change is not None for u in self.unfinished)
        return bool(half_done or self.drift or not self.verification.ok)

    def to_dict(self) -> dict[str, object]:
        return {
            "damaged": self.damaged,
            "unfinished": [u.to_dict() for u in self.unfinished],
            "in_progress": [u.to_dict() for u in self.in_progress],
            "drift": [d.to_dict() for d in self.drift],
            "verification": self.verification.to_dict(),
        }


class Checkup:
    def __init__(self, connection: StoreConnection, queries: Queries) -> None:
        self._connection = connection
        self._queries = queries

    def verify(self) -> Verification:
        with self._connection.errors("reading the audit trail"):
            _, tags = self._queries.model_aliases_and_tags()
        return verify(tags)

    def drift(self) -> list[Drift]:
        with self._connection.errors("reading the aliases"):
            aliases, tags = self._queries.model_aliases_and_tags()
        return drift(aliases, tags)

    def check(self) -> RegistryCheck:
        with self._connection.errors("checking the registry"):
            aliases, tags = self._queries.model_aliases_and_tags()
            found = holders(self._connection.client, self._queries.model_name)
        described = [Unfinished(h, _describe(h.intent)) for h in found]
        return RegistryCheck(
            unfinished=tuple(u for u in described if u.holder.stale),
            in_progress=tuple(u for u in described if not u.holder.stale),
            drift=tuple(drift(aliases, tags)),
            verification=verify(tags),
        )


def _describe(intent: str | None) -> str | None:
    if intent is None:
        return None
    try:
        return Intent.from_text(intent).describe()
    except (ValueError, KeyError, TypeError):
        return "an unreadable change"
