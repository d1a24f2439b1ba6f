"""YAML for annotation files: reading what may be hostile, writing what people read.

Reading checks limits on PyYAML's event stream *before* any object is built, so a crafted file
costs little and fails with the field it broke, never with a crash of the whole batch:

- a file over :data:`MAX_BYTES`;
- nesting deeper than :data:`MAX_DEPTH` (PyYAML builds nested nodes recursively: lists nested
  3000 deep would end in a ``RecursionError``);
- an integer of more than :data:`MAX_INT_DIGITS` digits (Python refuses to convert 4300 digits
  or more with a ``ValueError``, and no annotation value needs more than a few);
- an alias (``*name``) of a list or mapping (aliases repeated inside each other build
  exponentially large documents: the "billion laughs").

Each raises :class:`~edm.errors.AnnotationError` naming the file and the field
(``audio.duration``). Non-finite floats (``.inf``, ``1e999``) load, and the schema refuses them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from edm.errors import AnnotationError

DOCUMENT = "(document)"
MAX_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 16
MAX_INT_DIGITS = 18

_INT_TAG = "tag:yaml.org,2002:int"
_RESOLVER = yaml.resolver.Resolver()
_DIGITS = re.compile(r"[0-9a-fA-F]")
_INT_PREFIX = re.compile(r"^\s*[-+]?(0[xXoObB])?")


@dataclass
class _Node:
    path: str
    is_mapping: bool
    index: int = 0
    key: str = "?"
    want_key: bool = True
    anchors: set[str] = field(default_factory=set)


def load_yaml(text: str, path: Path | str) -> Any:
    """``yaml.safe_load(text)`` after the limits above; errors name ``path``."""
    if len(text) > MAX_BYTES:
        raise AnnotationError(
            path, DOCUMENT, f"{len(text)} characters: over the {MAX_BYTES} an annotation may have"
        )
    try:
        _check_limits(text, path)
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise AnnotationError(path, DOCUMENT, f"not valid YAML{at}: {problem}") from None
    except (ValueError, RecursionError, OverflowError) as exc:  # belt and braces
        raise AnnotationError(path, DOCUMENT, f"not a usable YAML document: {exc}") from None


def _check_limits(text: str, path: Path | str) -> None:
    stack: list[_Node] = []
    collection_anchors: set[str] = set()
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            where, is_key = _place(stack)
            if is_key:
                stack[-1].key = "?"  # a list or mapping as a key: no name to give
            if len(stack) >= MAX_DEPTH:
                # Name the field that holds the deep lists, not each of their indexes.
                named = [where, *(node.path for node in reversed(stack))]
                field_name = next((p for p in named if not p.endswith("]")), where)
                raise AnnotationError(path, field_name, f"nested more than {MAX_DEPTH} levels deep")
            if event.anchor is not None:
                collection_anchors.add(event.anchor)
            stack.append(_Node(where, isinstance(event, yaml.MappingStartEvent)))
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            stack.pop()
        elif isinstance(event, yaml.AliasEvent):
            where, is_key = _place(stack)
            if is_key:
                stack[-1].key = f"*{event.anchor}"
            if event.anchor in collection_anchors:
                raise AnnotationError(
                    path, where, f"alias *{event.anchor} of a list or mapping is not allowed"
                )
        elif isinstance(event, yaml.ScalarEvent):
            where, is_key = _place(stack)
            if is_key:
                stack[-1].key = event.value
            tag = event.tag
            if tag is None or tag == "!":
                tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
            digits = len(_DIGITS.findall(_INT_PREFIX.sub("", event.value)))
            if tag == _INT_TAG and digits > MAX_INT_DIGITS:
                raise AnnotationError(path, where, f"an integer of {digits} digits is out of range")


def _place(stack: list[_Node]) -> tuple[str, bool]:
    """The field of the node that starts now, and whether it is a mapping key."""
    if not stack:
        return DOCUMENT, False
    parent = stack[-1]
    if parent.is_mapping:
        if parent.want_key:
            parent.want_key = False
            return parent.path, True
        parent.want_key = True
        key = parent.key
        return (key if parent.path == DOCUMENT else f"{parent.path}.{key}"), False
    parent.index += 1
    return f"{'' if parent.path == DOCUMENT else parent.path}[{parent.index - 1}]", False


def dump_yaml(data: Any) -> str:
    """YAML text with :class:`FlowMapping` and :class:`FlowList` values on one line each."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


class FlowMapping(dict):
    """A mapping written on one line: ``- {bar: 9, label: drop, time: 16.37}``."""


class FlowList(list):
    """A list written on one line: ``low: [0.4, 0.3, 1.0]``."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    FlowMapping,
    lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True),
)
_Dumper.add_representer(
    FlowList,
    lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True),
)


def validation_problem(exc: ValidationError, labels: tuple[str, ...] = ()) -> tuple[str, str]:
    """The first problem of a pydantic error as (field, problem), for one line of text."""
    error = exc.errors(include_url=False)[0]
    field_name = format_location(error["loc"]) or DOCUMENT
    kind = error["type"]
    value = error.get("input")
    if kind == "missing":
        problem = "is required"
    elif kind == "extra_forbidden":
        problem = "is not a known field"
    elif kind == "literal_error" and field_name.endswith("label") and labels:
        problem = f"{value!r} is not one of {', '.join(labels)}"
    else:
        message = error["msg"].removeprefix("Value error, ")
        if kind in ("value_error", "literal_error") or not _is_scalar(value):
            problem = message
        else:
            problem = f"{value!r}: {message}"
    extra = exc.error_count() - 1
    if extra:
        problem += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return field_name, problem


def format_location(location: tuple[int | str, ...]) -> str:
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None
