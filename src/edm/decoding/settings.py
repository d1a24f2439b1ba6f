"""Decoding settings as plain data, stored with a model version and read back from it.

A registered version keeps every decoding setting it was registered with (tempo range, label
priors, section penalties...) in its pyfunc ``model_config``: a later change of a default in
``DecodeParams`` does not change an old version's answers. Reading back starts from today's
defaults and sets every value the version recorded; a setting the version's code did not have
keeps today's default, and one today's code does not know is left out.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from edm.decoding.decode import DecodeParams

log = logging.getLogger(__name__)


def decode_settings(params: DecodeParams | None = None) -> dict[str, Any]:
    """``params`` (default: today's defaults) as nested dicts of numbers, lists and None."""
    return _plain(dataclasses.asdict(params or DecodeParams()))


def decode_params_from_settings(settings: Mapping[str, Any] | None) -> DecodeParams:
    """The ``DecodeParams`` a version recorded (today's defaults where it recorded nothing)."""
    if not settings:
        return DecodeParams()
    return _apply(DecodeParams(), settings, "decoding")


def _apply(current: Any, values: Mapping[str, Any], where: str) -> Any:
    known = {f.name for f in dataclasses.fields(current)}
    changes = {}
    for name, value in values.items():
        if name not in known:
            log.info("%s.%s: not a decoding setting of this edm, left out", where, name)
            continue
        now = getattr(current, name)
        if dataclasses.is_dataclass(now) and isinstance(value, Mapping):
            changes[name] = _apply(now, value, f"{where}.{name}")
        else:
            changes[name] = _like(now, value)
    return dataclasses.replace(current, **changes)


def _like(now: Any, value: Any) -> Any:
    """``value`` in the shape of the default it replaces (lists back to tuples)."""
    if isinstance(now, tuple) and isinstance(value, list | tuple):
        inner = now[0] if now else None
        return tuple(_like(inner, item) for item in value)
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
