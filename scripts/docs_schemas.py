"""The annotation schemas' reference page (used by docs_hooks.py at every `mkdocs build`)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from docs_reference import GENERATED, _cell, _code, _comment_before, _schema_name


def _rst_to_markdown(text: str) -> str:
    """The modules' docstrings: Sphinx roles and literal blocks as Markdown."""
    text = re.sub(r":(?:mod|class|func|data|meth):`~?([^`]+)`", r"`\1`", text)
    text = text.replace("``", "`")
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out += [line.rstrip()[:-1], "", "```yaml"]
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                out.append(lines[i][4:])
                i += 1
            while out and not out[-1].strip():
                out.pop()
            out += ["```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def _field_comments(module: Any) -> dict[tuple[str, str], str]:
    """(class, field) -> the comment beside the field in the module's source."""
    source = Path(module.__file__).read_text(encoding="utf-8")
    lines = source.splitlines()
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    found[(node.name, item.target.id)] = _comment_before(lines, item.lineno)
    return found


def _limits(prop: dict[str, Any]) -> str:
    words = {"minimum": "≥", "maximum": "≤", "exclusiveMinimum": ">", "exclusiveMaximum": "<"}
    found = [prop, *prop.get("anyOf", [])]
    return ", ".join(f"{words[k]} {part[k]}" for part in found for k in words if k in part)


def _model_rows(model: Any, prefix: str, seen: set[str]) -> list[str]:
    import sys

    schema = model.model_json_schema()
    defs = schema.get("$defs", {})
    comments = _field_comments(sys.modules[model.__module__])
    rows: list[str] = []

    def walk(node: dict[str, Any], path: str, owner: str) -> None:
        required = set(node.get("required", []))
        for name, prop in node.get("properties", {}).items():
            target, suffix = prop, ""
            for option in prop.get("anyOf", []):
                if "$ref" in option or option.get("type") == "array":
                    target = option
            if target.get("type") == "array" and "$ref" in target.get("items", {}):
                target, suffix = target["items"], "[]"
            default = "" if "default" not in prop else _code(repr(prop["default"]))
            field = f"{path}{name}"
            rows.append(
                f"| `{field}` | {_cell(_schema_name(prop))} "
                f"| {'yes' if name in required else default} | {_cell(_limits(prop))} "
                f"| {_cell(prop.get('description') or comments.get((owner, name), ''))} |"
            )
            if "$ref" in target:
                ref = target["$ref"].rsplit("/", 1)[-1]
                if ref not in seen:
                    seen.add(ref)
                    walk(defs[ref], f"{field}{suffix}.", ref)
                    seen.discard(ref)

    walk(schema, prefix, model.__name__)
    return [
        "| field | type | required (or its default) | limits | notes |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def annotations_page() -> str:
    import edm.data.annotations as ours
    import edm.data.annotator_schema as theirs

    return "\n".join(
        [
            "# Annotation schemas (YAML)",
            "",
            GENERATED.format(source="`edm.data.annotations` and `edm.data.annotator_schema`"),
            "One YAML file per track, in either form; `edm data check` validates a folder.",
            "",
            "## edm's form",
            "",
            _rst_to_markdown(ours.__doc__ or ""),
            "",
            "### Fields (`edm.data.annotations.Annotation`)",
            "",
            *_model_rows(ours.Annotation, "", set()),
            "## The spec project's annotator form",
            "",
            _rst_to_markdown(theirs.__doc__ or ""),
            "",
            "### Its energy block",
            "",
            *_model_rows(theirs._TheirEnergy, "energy.", set()),
        ]
    )
