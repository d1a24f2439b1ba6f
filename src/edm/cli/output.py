"""Rendering helpers shared by the command groups. Only the CLI prints."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.text import Text

console = Console()
err_console = Console(stderr=True)

STAGE_STYLES = {
    "Production": "bold green",
    "Staging": "yellow",
    "Archived": "dim",
    "None": "",
}


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no Rich markup or wrapping) so that it always parses."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def styled_stage(stage: str) -> str:
    style = STAGE_STYLES.get(stage, "")
    return f"[{style}]{stage}[/]" if style else stage


def human_time(value: str | datetime | None) -> str:
    """ISO timestamp → '2026-11-26 07:40 UTC (3 h ago)'."""
    if value is None:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    when = when.astimezone(UTC)
    seconds = (datetime.now(UTC) - when).total_seconds()
    if seconds < 60:
        ago = "just now"
    elif seconds < 3600:
        ago = f"{int(seconds // 60)} min ago"
    elif seconds < 86400:
        ago = f"{int(seconds // 3600)} h ago"
    else:
        ago = f"{int(seconds // 86400)} d ago"
    return f"{when:%Y-%m-%d %H:%M} UTC ({ago})"


def format_number(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def print_error(message: str) -> None:
    """One line on stderr: the message is text, never markup, and never wrapped."""
    first_line = " ".join(message.split())
    err_console.print(Text.assemble(("Error: ", "bold red"), first_line), soft_wrap=True)
