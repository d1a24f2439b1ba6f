"""A loaded version's drift reference read again when a person replaces it.

``edm monitor reference --from-traffic`` replaces a version's reference and writes an audit
entry (action ``reference``). At each poll the model slots look at the newest such entry of each
loaded version: when it differs from the one seen at the version's first poll, the reference is
read again and the slot's model is swapped for a copy that holds it (the weights are shared), so
the drift monitor compares the window with the new reference without a restart or a reload.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from edm.monitoring.reference import DriftReference
    from edm.registry import AuditEntry


class Slot(Protocol):
    """What is read and swapped of a model slot (``edm.serving.slots.Slot``)."""

    model: Any  # a LoadedModel (a frozen dataclass with version and drift_reference), or None


log = logging.getLogger(__name__)


def newest_reference_entry(entries: Sequence[AuditEntry], version: int) -> str | None:
    """The hash (or key) of the newest ``reference`` entry of ``version``; None when none."""
    for entry in entries:  # newest first
        if entry.action == "reference" and entry.version == version:
            return entry.hash or entry.key
    return None


def refresh_references(
    slots: Iterable[Slot],
    entries: Sequence[AuditEntry],
    seen: MutableMapping[int, str | None],
    read: Callable[[int], DriftReference | None],
) -> list[int]:
    """Swap in the new reference of every loaded version whose newest ``reference`` entry
    changed since ``seen`` last recorded it; the versions refreshed."""
    refreshed: dict[int, DriftReference | None] = {}
    for slot in slots:
        model = slot.model
        if model is None:
            continue
        newest = newest_reference_entry(entries, model.version)
        if model.version not in seen:
            seen[model.version] = newest  # it was loaded with the reference of that moment
            continue
        if seen[model.version] == newest and model.version not in refreshed:
            continue
        if model.version not in refreshed:
            refreshed[model.version] = read(model.version)
            seen[model.version] = newest
            log.info("version %s: drift reference replaced, read again", model.version)
        slot.model = dataclasses.replace(model, drift_reference=refreshed[model.version])
    return list(refreshed)
