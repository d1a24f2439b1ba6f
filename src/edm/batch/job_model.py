"""The version a batch job runs: resolved once at the start, as an MLflow model folder whose
network is exported to ONNX before the folder is shipped."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import ConfigError

if TYPE_CHECKING:
    from edm.registry import ModelRegistry
    from edm.registry.refs import RegistryAddress, ResolvedModel


def resolve_version(
    ref: str | None,
    registry: Callable[[], ModelRegistry],
    address: RegistryAddress | None = None,
) -> ResolvedModel:
    """REF as one registered version; with ``address``, a version downloaded before from a
    local store is found without importing MLflow (a re-run with nothing to do stays quick)."""
    from edm.registry.refs import parse_model_ref, resolve_model

    parsed = parse_model_ref(ref)
    if parsed.kind == "path":
        raise ConfigError(
            f"--model {ref}: edm batch runs a registered version (its MLflow model), not a "
            "checkpoint file: register it first (edm train registers, or ModelRegistry.log_model)"
        )
    return resolve_model(parsed, registry, address=address)


def mlflow_model_folder(resolved: ResolvedModel) -> Path:
    """The downloaded version's MLflow model folder (the one holding ``MLmodel``)."""
    for folder in list(resolved.path.parents)[:4]:
        if (folder / "MLmodel").is_file():
            return folder
    raise ConfigError(
        f"version {resolved.version} of '{resolved.model_name}' is a bare checkpoint, not an "
        "MLflow model: register its checkpoint again to analyse a catalogue with it"
    )


def export_network(checkpoint: Path) -> None:
    """Export the network once, here, into the model folder that is shipped to the executors:
    each of them then loads the kept ONNX export instead of importing torch to make its own
    (once per version: the download folder keeps it)."""
    from contextlib import suppress

    from edm.errors import EdmError
    from edm.inference.engines import load_network

    with suppress(EdmError):  # the executors meet the same problem, and say so on every row
        load_network(checkpoint)
