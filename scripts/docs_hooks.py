"""MkDocs hooks (mkdocs.yml `hooks:`): the pages generated from the code at build time.

Nothing here is committed as output: every `mkdocs build` writes these pages again from the
code they describe, so they cannot drift.

- ``index.md``: the README, its links turned into site links;
- ``reference/http.md`` and ``reference/openapi.json``: ``edm serve``'s own OpenAPI document;
- ``reference/settings.md``: every environment variable edm reads and every setting;
- ``reference/annotations.md``: the two YAML annotation forms;
- ``reference/alert-rules.md``: the Prometheus rules file as tables.

- ``reference/cli.md``: every command and option, from the click tree Typer builds.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from docs_reference import (  # noqa: E402
    _cell,
    _code,
    cli_page,
    http_page,
    openapi_document,
    settings_page,
)
from docs_schemas import annotations_page  # noqa: E402

GENERATED = "*Generated from the code at build time ({source}); do not edit.*\n"


def readme_as_index(text: str) -> str:
    """The README with its links into docs/ made relative to the site's root."""
    return re.sub(r"\]\(docs/", "](", text)


def generated_pages() -> dict[str, str]:
    import json

    document = openapi_document()
    return {
        "index.md": readme_as_index((ROOT / "README.md").read_text(encoding="utf-8")),
        "reference/cli.md": cli_page(),
        "reference/http.md": http_page(document),
        "reference/openapi.json": json.dumps(document, indent=2) + "\n",
        "reference/settings.md": settings_page(ROOT / "src" / "edm"),
        "reference/annotations.md": annotations_page(),
        "reference/alert-rules.md": alert_rules_page(
            ROOT / "deploy" / "prometheus" / "rules" / "edm.rules.yml"
        ),
    }


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    for uri, content in generated_pages().items():
        old = files.get_file_from_path(uri)
        if old is not None:
            files.remove(old)
        files.append(File.generated(config, uri, content=content))
    return files


def _rule_kind(labels: dict[str, Any]) -> str:
    if str(labels.get("degradation")).lower() == "true":
        return "degradation: rolls back"
    if str(labels.get("review")).lower() == "true":
        return "review"
    return "to a person"


def alert_rules_page(rules_file: Path) -> str:
    """The rules file as a table of alerts, then each rule's expression as PromQL."""
    groups = yaml.safe_load(rules_file.read_text(encoding="utf-8"))["groups"]
    alerts = ["| alert | for | severity | kind | summary |", "|---|---|---|---|---|"]
    records = ["| recording rule | labels |", "|---|---|"]
    expressions: list[str] = []
    for group in groups:
        for rule in group["rules"]:
            name = rule.get("alert") or rule["record"]
            labels = rule.get("labels", {})
            expressions += [f"### `{name}`", "", "```text", rule["expr"].strip(), "```", ""]
            if "record" in rule:
                shown = ", ".join(f"{k}={v}" for k, v in labels.items())
                records.append(f"| `{name}` | {_code(shown)} |")
                continue
            summary = rule.get("annotations", {}).get("summary", "")
            alerts.append(
                f"| [`{name}`](#{name.lower()}) | {rule.get('for', 'at once')} "
                f"| {labels.get('severity', '')} | {_rule_kind(labels)} | {_cell(summary)} |"
            )
    return "\n".join(
        [
            "# Prometheus alert rules",
            "",
            GENERATED.format(source="`deploy/prometheus/rules/edm.rules.yml`"),
            "What each alert means and what to do: "
            "[Alerts and automatic rollback](../how-to/alerts-and-rollback.md).",
            "",
            "## Alerts",
            "",
            *alerts,
            "",
            "## Recording rules",
            "",
            *records,
            "",
            "## Expressions",
            "",
            *expressions,
        ]
    )
