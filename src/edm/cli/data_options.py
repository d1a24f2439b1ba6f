"""Options shared by the commands that read a data folder (``data check``, ``train``,
``evaluate``), and how they report the files they skipped or changed."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import typer

from edm.cli.output import err_console, plain
from edm.data.audio_paths import AUDIO_DIR_ENV


def audio_dir_option() -> Any:
    return typer.Option(
        [],
        "--audio-dir",
        envvar=AUDIO_DIR_ENV,
        show_envvar=True,
        help="Folder where audio named by audio.file is looked for when it is not beside the "
        "annotation (by relative path, then by name; repeatable; the variable takes several "
        "folders separated by ':').",
    )


def min_tier_option() -> Any:
    return typer.Option(
        None,
        "--min-tier",
        min=1,
        max=3,
        help="Only tracks of this tier or better (1 verified, 2 auto-cleaned, 3 automatic): "
        "2 keeps tiers 1 and 2.",
    )


def min_confidence_option() -> Any:
    return typer.Option(
        None,
        "--min-confidence",
        min=0.0,
        max=1.0,
        help="Only tracks whose metadata.confidence is at least this.",
    )


def print_data_notes(skipped: Iterable[object], warnings: Iterable[object]) -> None:
    """One line per skipped file and per file used with a change, on stderr."""
    for entry in warnings:
        err_console.print(f"[yellow]warning[/] {plain(entry)}", highlight=False, soft_wrap=True)
    for entry in skipped:
        err_console.print(f"[yellow]skipped[/] {plain(entry)}", highlight=False, soft_wrap=True)


def tier_summary(counts: dict[int, int]) -> str:
    """``tier 1: 3, tier 3: 2`` (tiers with no track left out)."""
    return ", ".join(f"tier {tier}: {n}" for tier, n in counts.items() if n) or "no tracks"


def as_paths(folders: Iterable[Path]) -> tuple[Path, ...]:
    return tuple(Path(folder) for folder in folders)
