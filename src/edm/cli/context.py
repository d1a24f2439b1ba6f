"""What every command needs from the global options."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.registry.refs import ResolvedModel
    from edm.registry.version_cache import RegistryAddress


@dataclass
class CliState:
    tracking_uri: str | None = None


def registry(ctx: typer.Context) -> ModelRegistry:
    from edm.registry import ModelRegistry  # imports mlflow: only for commands that need it

    return ModelRegistry(tracking_uri=_state(ctx).tracking_uri)


def registry_address(ctx: typer.Context) -> RegistryAddress:
    """Where ``registry(ctx)`` connects, known without building it (nor importing MLflow)."""
    from edm.registry.version_cache import RegistryAddress

    return RegistryAddress(tracking_uri=_state(ctx).tracking_uri)


def resolve_model(ctx: typer.Context, model: str | None) -> ResolvedModel:
    """The checkpoint ``--model`` names. A version downloaded before from a local store is
    found without MLflow; its registry is built only if the command writes to its run."""
    from edm.registry.refs import resolve_model as resolve

    return resolve(model, lambda: registry(ctx), address=registry_address(ctx))


def _state(ctx: typer.Context) -> CliState:
    return ctx.find_root().obj or CliState()
