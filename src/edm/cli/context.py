"""What every command needs from the global options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from edm.registry import ModelRegistry


@dataclass
class CliState:
    tracking_uri: str | None = None


def registry(ctx: typer.Context) -> ModelRegistry:
    from edm.registry import ModelRegistry  # imports mlflow: only for commands that need it

    state = ctx.find_root().obj or CliState()
    return ModelRegistry(tracking_uri=state.tracking_uri)
