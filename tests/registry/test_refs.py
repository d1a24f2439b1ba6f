"""Model references: parsing needs no MLflow; resolving one finds the version on every store."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from edm.errors import (
    CheckpointError,
    InvalidModelRefError,
    NoProductionModelError,
    RegistryError,
)
from edm.registry import ModelRegistry
from edm.registry.refs import ModelRef, parse_model_ref, resolve_model


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, ModelRef("Production", "stage", "Production")),
        ("3", ModelRef("3", "version", "3")),
        ("staging", ModelRef("staging", "stage", "Staging")),
        ("models:/edm/7", ModelRef("models:/edm/7", "version", "7", "edm")),
        (
            "models:/edm/Production",
            ModelRef("models:/edm/Production", "stage", "Production", "edm"),
        ),
        ("models:/edm@champion", ModelRef("models:/edm@champion", "alias", "champion", "edm")),
        ("outputs/run/best.pt", ModelRef("outputs/run/best.pt", "path", "outputs/run/best.pt")),
        ("best.pt", ModelRef("best.pt", "path", "best.pt")),
        ("latest", ModelRef("latest", "latest", "latest")),
        ("Latest", ModelRef("Latest", "latest", "latest")),
        ("models:/edm/latest", ModelRef("models:/edm/latest", "latest", "latest", "edm")),
    ],
)
def test_parse_model_ref(text: str | None, expected: ModelRef) -> None:
    assert parse_model_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "model reference is empty"),
        ("0", "versions start at 1"),
        ("newest", "model reference 'newest' is not a version number"),
        ("models:/edm", "is not models:/NAME/VERSION"),
        ("models:/edm/newest", "'newest' is neither a version number"),
    ],
)
def test_refs_that_mean_nothing_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(InvalidModelRefError, match=message):
        parse_model_ref(text)


def _no_registry() -> ModelRegistry:
    raise AssertionError("a local checkpoint must not need the registry")


def test_a_local_checkpoint_needs_no_registry(checkpoint: Path) -> None:
    resolved = resolve_model(str(checkpoint), _no_registry)
    assert resolved.path == checkpoint and not resolved.from_registry
    with pytest.raises(CheckpointError, match=r"checkpoint file not found: .*missing\.pt"):
        resolve_model("missing.pt", _no_registry)


def test_a_local_checkpoint_imports_no_mlflow(checkpoint: Path) -> None:
    code = (
        "import sys\n"
        "from edm.registry.refs import resolve_model\n"
        f"resolved = resolve_model({str(checkpoint)!r}, lambda: None)\n"
        "assert not resolved.from_registry\n"
        "assert 'mlflow' not in sys.modules, 'mlflow imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_registry_refs_download_the_version(
    make_registry: Callable[..., ModelRegistry], checkpoint: Path
) -> None:
    registry = make_registry()
    name = registry.model_name
    run_1 = registry.log_model(checkpoint, "first", {}, {})
    registry.log_model(checkpoint, "second", {}, {})
    with pytest.raises(NoProductionModelError, match=r"no version .* is in Production"):
        resolve_model(None, lambda: registry)
    # latest: the newest version, whatever its stage (what a pipeline just trained)
    assert resolve_model("latest", lambda: registry).version == 2
    assert resolve_model(f"models:/{name}/latest", lambda: registry).version == 2
    registry.promote_model(1, "Production")
    registry.promote_model(2, "Staging")

    production = resolve_model(None, lambda: registry)
    assert (production.version, production.run_id) == (1, run_1)
    assert production.path.read_bytes() == checkpoint.read_bytes()
    assert production.path.is_relative_to(Path("downloads").resolve())
    assert production.describe() == f"version 1 of '{name}'"
    assert production.registry is registry
    assert resolve_model("Staging", lambda: registry).version == 2
    assert resolve_model("2", lambda: registry).version == 2
    assert resolve_model(f"models:/{name}/1", lambda: registry).version == 1
    assert resolve_model(f"models:/{name}@staging", lambda: registry).version == 2
    with pytest.raises(RegistryError, match=r"no version .* has the alias 'champion'"):
        resolve_model(f"models:/{name}@champion", lambda: registry)
    with pytest.raises(RegistryError, match="model version 9"):
        resolve_model("9", lambda: registry)


def test_latest_of_a_model_without_versions_is_one_clear_error(
    make_registry: Callable[..., ModelRegistry],
) -> None:
    registry = make_registry()
    with pytest.raises(RegistryError, match="has no version yet"):
        resolve_model("latest", lambda: registry)


def test_a_models_uri_naming_another_model_reads_that_model(
    make_registry: Callable[..., ModelRegistry], checkpoint: Path, names: dict[str, str]
) -> None:
    other = make_registry(model_name=names["model_name"] + "-beats")
    other.log_model(checkpoint, "beats", {}, {})
    resolved = resolve_model(f"models:/{other.model_name}/1", make_registry)
    assert (resolved.model_name, resolved.version) == (other.model_name, 1)
    with pytest.raises(RegistryError, match=r"no version .* has the alias 'gone'"):
        resolve_model(f"models:/{names['model_name']}-missing@gone", make_registry)
