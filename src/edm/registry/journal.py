"""The intent of a stage change, written before anything moves, so a crash can be finished.

A promotion first writes its intent on its lock generation (``lock.LockHandle``): the audit
entry it will write and the alias and tag moves that get there, each one a target state
("``production`` on version 3", "version 2 archived") rather than a step, so applying the
moves again is harmless. Then it applies the moves, then writes the audit entry: the entry
is the mark that the change is done. A later taker of the lock that finds a crashed holder's
intent finishes it (``finish``): the moves again, then the entry if it is not there yet. The
change was checked (gate, stages) before its intent was written, so finishing it is what its
author asked for; the registry is never left half-way and every change gets its entry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mlflow.exceptions import MlflowException

from edm.registry.audit import AuditEntry, entries_from_tags, trail_description
from edm.registry.stages import ARCHIVED_TAG
from edm.registry.store import is_not_found, is_unknown_alias

if TYPE_CHECKING:
    from edm.registry.store import RetryingClient

# ("alias", alias name, version or None to delete) or ("archived", version, True/False)
Move = tuple[str, str | int, int | bool | None]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Intent:
    entry: AuditEntry
    moves: tuple[Move, ...]

    def to_text(self) -> str:
        return json.dumps(
            {"key": self.entry.key, "entry": self.entry.to_tag_value(), "moves": self.moves},
            separators=(",", ":"),
        )

    @classmethod
    def from_text(cls, text: str) -> Intent:
        doc = json.loads(text)
        moves = tuple((str(kind), what, target) for kind, what, target in doc["moves"])
        return cls(AuditEntry.from_tag(doc["key"], doc["entry"]), moves)

    def describe(self) -> str:
        e = self.entry
        return f"{e.action} of version {e.version}: {e.from_stage.value} → {e.to_stage.value}"


def apply_move(
    client: RetryingClient, model_name: str, move: Move, aliases: dict[str, int]
) -> Callable[[], None] | None:
    """Bring one alias or tag to its target; return how to undo it (None if nothing moved).

    ``aliases`` holds the aliases as they are now, and is kept up to date.
    """
    kind, what, target = move
    if kind == "alias":
        alias = str(what)
        before = aliases.get(alias)
        if target is None:
            if before is None:
                return None
            _delete_alias(client, model_name, alias)
            del aliases[alias]
            return lambda: client.set_registered_model_alias(model_name, alias, str(before))
        if before == int(target):
            return None
        client.set_registered_model_alias(model_name, alias, str(target))
        aliases[alias] = int(target)
        if before is None:
            return lambda: _delete_alias(client, model_name, alias)
        return lambda: client.set_registered_model_alias(model_name, alias, str(before))
    version = str(what)
    if target:
        client.set_model_version_tag(model_name, version, ARCHIVED_TAG, "true")
        return lambda: _delete_tag(client, model_name, version)
    _delete_tag(client, model_name, version)
    return lambda: client.set_model_version_tag(model_name, version, ARCHIVED_TAG, "true")


def _delete_alias(client: RetryingClient, model_name: str, alias: str) -> None:
    try:
        client.delete_registered_model_alias(model_name, alias)
    except MlflowException as exc:
        if not (is_not_found(exc) or is_unknown_alias(exc)):
            raise


def _delete_tag(client: RetryingClient, model_name: str, version: str) -> None:
    try:
        client.delete_model_version_tag(model_name, version, ARCHIVED_TAG)
    except MlflowException as exc:
        if not is_not_found(exc):
            raise


def current_aliases(aliases: object) -> dict[str, int]:
    return {str(k): int(v) for k, v in dict(aliases or {}).items()}  # type: ignore[call-overload]


def write_entry(client: RetryingClient, model_name: str, entry: AuditEntry) -> None:
    client.set_registered_model_tag(model_name, entry.key, entry.to_tag_value())
    show_trail(client, model_name)


def show_trail(client: RetryingClient, model_name: str) -> None:
    """Rebuild the model's description from the trail, so the MLflow UI shows its lines.

    The change is complete once its entry is written: a description that cannot be updated
    (a user allowed to promote but not to edit the model) is logged, never an error. Two
    writers at once may leave one entry out of it until the next change; the tags keep all.
    """
    try:
        model = client.get_registered_model(model_name)
        entries = entries_from_tags(model.tags or {})
        text = trail_description(model.description, entries)
        if text != model.description:
            client.update_registered_model(model_name, description=text)
    except MlflowException as exc:
        _log.warning("the audit trail was not copied into the model's description: %s", exc)


def finish(client: RetryingClient, model_name: str, intent: Intent) -> bool:
    """Complete a crashed change; True when it still needed its audit entry."""
    model = client.get_registered_model(model_name)
    if intent.entry.key in (model.tags or {}):  # the entry is written last: moves all done
        return False
    aliases = current_aliases(model.aliases)
    for move in intent.moves:
        apply_move(client, model_name, move, aliases)
    write_entry(client, model_name, intent.entry)
    return True
