"""Which checkpoint a model reference (the CLI's ``--model REF``) means, and where it is on disk.

REF is one of:

- a local checkpoint: ``outputs/run/best.pt`` (anything ending in ``.pt`` or naming a file);
- a version number of the registered model: ``3``;
- a stage: ``Production`` (the default), ``Staging``;
- ``latest``: the newest version, whatever its stage (a pipeline's train -> evaluate -> promote);
- an MLflow model URI: ``models:/NAME/3``, ``models:/NAME/Production``, ``models:/NAME/latest``,
  ``models:/NAME@ALIAS``.

Registry models are downloaded (``ModelRegistry.download_version``) into the registry's
download folder (``downloads/`` by default). Parsing needs no MLflow; only resolving a registry
reference asks the factory for a registry, so a local file never imports MLflow, and neither
does a version downloaded before from a local store when the caller says where the registry is
(``address``; see ``edm.registry.version_cache``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from edm.errors import (
    CheckpointNotFoundError,
    InvalidModelRefError,
    NoProductionModelError,
    RegistryError,
)
from edm.registry.stages import Stage
from edm.registry.version_cache import RegistryAddress, cached_checkpoint

if TYPE_CHECKING:
    from edm.registry.model_registry import ModelRegistry

DEFAULT_REF = "Production"
LATEST = "latest"
_STAGES = {"production": "Production", "staging": "Staging"}
_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<selector>[^/@]+)|@(?P<alias>[^/@]+))$")

RefKind = Literal["path", "version", "stage", "alias", "latest"]


@dataclass(frozen=True)
class ModelRef:
    """A parsed REF: ``value`` is a path, a version number, a stage or an alias name."""

    text: str
    kind: RefKind
    value: str
    model_name: str | None = None  # from a models:/ URI; None means the registry's own


@dataclass(frozen=True)
class ResolvedModel:
    ref: ModelRef
    path: Path  # the .pt checkpoint on local disk
    version: int | None = None  # None for a local file
    model_name: str | None = None
    run_id: str | None = None
    # Builds the registry the version came from, for commands that write onto its run: a
    # version found in the download cache needs no registry, and so no MLflow, until then.
    registry_factory: Callable[[], ModelRegistry] | None = field(
        default=None, compare=False, repr=False
    )

    @cached_property
    def registry(self) -> ModelRegistry | None:
        """The registry the version came from (built on first use); None for a local file."""
        return self.registry_factory() if self.registry_factory is not None else None

    @property
    def from_registry(self) -> bool:
        return self.version is not None

    def describe(self) -> str:
        if self.version is None:
            return str(self.path)
        return f"version {self.version} of '{self.model_name}'"


def parse_model_ref(text: str | None) -> ModelRef:
    """Parse REF (None means Production); InvalidModelRefError for one that means nothing."""
    raw = DEFAULT_REF if text is None else str(text).strip()
    if not raw:
        raise InvalidModelRefError(
            "the model reference is empty: give a version, a stage, a models:/ URI or a .pt file"
        )
    if raw.startswith("models:/"):
        match = _URI.match(raw)
        if match is None:
            raise InvalidModelRefError(
                f"model reference '{raw}' is not models:/NAME/VERSION, models:/NAME/STAGE or "
                "models:/NAME@ALIAS"
            )
        name = match["name"]
        if match["alias"]:
            return ModelRef(raw, "alias", match["alias"], name)
        selector = match["selector"]
        if selector.isdigit():
            return ModelRef(raw, "version", str(int(selector)), name)
        if selector.lower() in _STAGES:
            return ModelRef(raw, "stage", _STAGES[selector.lower()], name)
        if selector.lower() == LATEST:
            return ModelRef(raw, "latest", LATEST, name)
        raise InvalidModelRefError(
            f"model reference '{raw}': '{selector}' is neither a version number nor "
            "Production/Staging/latest"
        )
    if raw.isdigit():
        if int(raw) < 1:
            raise InvalidModelRefError(f"model reference '{raw}': versions start at 1")
        return ModelRef(raw, "version", str(int(raw)))
    if raw.lower() in _STAGES:
        return ModelRef(raw, "stage", _STAGES[raw.lower()])
    if raw.lower() == LATEST:
        return ModelRef(raw, "latest", LATEST)
    if raw.endswith(".pt") or Path(raw).expanduser().is_file() or "/" in raw or "\\" in raw:
        return ModelRef(raw, "path", raw)
    raise InvalidModelRefError(
        f"model reference '{raw}' is not a version number, Production, Staging, latest, a "
        "models:/ URI or a .pt file"
    )


def resolve_model(
    ref: str | ModelRef | None,
    registry: Callable[[], ModelRegistry],
    download_dir: Path | str | None = None,
    *,
    address: RegistryAddress | None = None,
) -> ResolvedModel:
    """The local checkpoint REF names, downloading a registry version when needed.

    ``registry`` builds the registry on demand (a local file never needs one); a models:/ URI
    naming another registered model gets a registry for that name on the same store.
    ``address`` says where ``registry()`` would connect (store, model, download folder): with
    it, a version downloaded before from a local SQLite store, and still the same version
    there, is served from the download folder without building the registry.
    """
    parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
    if parsed.kind == "path":
        path = Path(parsed.value).expanduser()
        if not path.is_file():
            raise CheckpointNotFoundError(parsed.value)
        return ResolvedModel(parsed, path)

    if address is not None and parsed.kind != "latest":  # a newer version may exist
        cached = _cached(parsed, registry, address, download_dir)
        if cached is not None:
            return cached
    store = _registry_for(parsed, registry)
    version = _version_of(parsed, store)
    record = store.version_record(version)
    path = store.download_version(version, download_dir)
    run_id = record.run_id if record is not None else None
    return ResolvedModel(parsed, path, version, store.model_name, run_id, lambda: store)


def _cached(
    ref: ModelRef,
    registry: Callable[[], ModelRegistry],
    address: RegistryAddress,
    download_dir: Path | str | None,
) -> ResolvedModel | None:
    """REF served from the download folder, or None (then MLflow answers)."""
    alias = ref.value if ref.kind == "alias" else None
    if ref.kind == "stage":
        alias = Stage(ref.value).alias  # our stages are MLflow aliases (edm.registry.stages)
    found = cached_checkpoint(
        address,
        model_name=ref.model_name,
        version=int(ref.value) if ref.kind == "version" else None,
        alias=alias,
        download_dir=download_dir,
    )
    if found is None:
        return None
    return ResolvedModel(
        ref,
        found.path,
        found.version,
        found.model_name,
        found.run_id,
        lambda: _registry_for(ref, registry),
    )


def _registry_for(ref: ModelRef, registry: Callable[[], ModelRegistry]) -> ModelRegistry:
    store = registry()
    if ref.model_name is not None and ref.model_name != store.model_name:
        store = store.for_model(ref.model_name)
    return store


def _version_of(ref: ModelRef, store: ModelRegistry) -> int:
    if ref.kind == "version":
        return int(ref.value)
    if ref.kind == "latest":
        newest = store.version_records(max_results=1)
        if not newest:
            raise RegistryError(f"'{store.model_name}' has no version yet: train one first")
        return newest[0].version
    if ref.kind == "stage":
        stage = Stage(ref.value)
        version = store.stage_holders().of(stage)
        if version is None:
            if stage == Stage.PRODUCTION:
                raise NoProductionModelError(
                    f"no version of '{store.model_name}' is in Production: name a version "
                    "instead, or promote one (CLI: --model VERSION, or edm models promote "
                    "VERSION Production)"
                )
            raise RegistryError(f"no version of '{store.model_name}' is in {ref.value}")
        return version
    version = store.version_of_alias(ref.value)
    if version is None:
        raise RegistryError(
            f"{ref.text}: no version of '{store.model_name}' has the alias '{ref.value}'"
        )
    return version
