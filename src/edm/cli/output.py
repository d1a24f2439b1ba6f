"""Rendering helpers shared by the command groups. Only the CLI prints."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.text import Text

# Piped or redirected, nothing is cut: no terminal width to fit, so tables get room for every
# full run name and source (a terminal, or an explicit COLUMNS, keeps its own width).
PIPED_WIDTH = 4000


def _width(stream: object) -> int | None:
    if os.environ.get("COLUMNS") or getattr(stream, "isatty", lambda: False)():
        return None
    return PIPED_WIDTH


console = Console(width=_width(sys.stdout))
err_console = Console(stderr=True, width=_width(sys.stderr))

STAGE_STYLES = {
    "Production": "bold green",
    "Staging": "yellow",
    "Archived": "dim",
    "None": "",
}


def print_json(data: Any) -> None:
    """Plain JSON on stdout (no Rich markup or wrapping) so that it always parses."""
    print(json.dumps(data, indent=2, sort_keys=True, default=str))


def plain(value: object) -> str:
    """Text that did not come from the code (a reason, a user or run name, a tag, a path, an
    error), made safe for Rich markup: ``[alert 59905c63 since ...]`` is printed as it is, not
    read as a tag and dropped. Everything a table or a console prints from outside goes
    through here."""
    return escape(str(value))


def styled_stage(stage: str) -> str:
    style = STAGE_STYLES.get(stage, "")
    return f"[{style}]{stage}[/]" if style else stage


def human_time(value: str | datetime | None) -> str:
    """ISO timestamp → '2026-11-26 07:40' in UTC (the column headers say UTC)."""
    if value is None:
        return "-"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{when.astimezone(UTC):%Y-%m-%d %H:%M}"


def format_number(value: Any) -> str:
    """A metric, param or tag value for a table cell (a text value is escaped)."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return plain(value)


def print_error(message: str) -> None:
    """One line on stderr: the message is text, never markup, and never wrapped."""
    first_line = " ".join(message.split())
    err_console.print(Text.assemble(("Error: ", "bold red"), first_line), soft_wrap=True)


@contextmanager
def files_progress(label: str) -> Iterator[Callable[[Any, int, int], None]]:
    """A transient bar on stderr, drawn only on a terminal; yields ``on_file(item, done, total)``
    for the library's per-file callbacks."""
    from rich.progress import Progress

    with Progress(
        console=err_console, transient=True, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(label, total=None)
        yield lambda _, done, total: progress.update(task, completed=done, total=total)
