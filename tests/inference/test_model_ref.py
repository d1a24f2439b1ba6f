from __future__ import annotations

from pathlib import Path

import pytest

from edm.errors import CheckpointError, NoProductionModelError, RegistryError
from edm.errors import InvalidModelRefError
from edm.inference.model_ref import ModelRef, parse_model_ref, resolve_model
from edm.registry import ModelRegistry


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
    ],
)
def test_parse_model_ref(text: str | None, expected: ModelRef) -> None:
    assert parse_model_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "--model is empty"),
        ("0", "versions start at 1"),
        ("latest", "--model 'latest' is not a version number"),
        ("models:/edm", "is not models:/NAME/VERSION"),
        ("models:/edm/newest", "'newest' is neither a version number"),
    ],
)
def test_refs_that_mean_nothing_are_refused_by_name(text: str, message: str) -> None:
    with pytest.raises(InvalidModelRefError, match=message):
        parse_model_ref(text)


def _no_registry() -> ModelRegistry:
    raise AssertionError("a local checkpoint must not need the registry")


def test_a_local_checkpoint_needs_no_registry_nor_mlflow(tiny_checkpoint: Path) -> None:
    resolved = resolve_model(str(tiny_checkpoint), _no_registry)
    assert resolved.path == tiny_checkpoint and not resolved.from_registry
    with pytest.raises(CheckpointError, match=r"checkpoint file not found: .*missing\.pt"):
        resolve_model("missing.pt", _no_registry)


def test_registry_refs_download_the_version(store_uri: str, tiny_checkpoint: Path) -> None:
    registry = ModelRegistry(tracking_uri=store_uri)
    # As if evaluated (edm evaluate --log): the promotion gate wants a test metric.
    scores = {"best_val_loss": 1.0, "test_boundary_f_0.5": 0.5}
    run_1 = registry.log_model(tiny_checkpoint, "first", {}, scores)
    registry.log_model(tiny_checkpoint, "second", {}, scores)
    with pytest.raises(NoProductionModelError, match=r"no version .* is in Production"):
        resolve_model(None, lambda: registry)
    registry.promote_model(1, "Production")
    registry.promote_model(2, "Staging")

    production = resolve_model(None, lambda: registry)
    assert (production.version, production.run_id) == (1, run_1)
    assert production.path.read_bytes() == tiny_checkpoint.read_bytes()
    assert production.path.is_relative_to(Path("downloads").resolve())
    assert production.describe() == "version 1 of 'edm-structure-detector'"
    assert resolve_model("Staging", lambda: registry).version == 2
    assert resolve_model("2", lambda: registry).version == 2
    assert resolve_model("models:/edm-structure-detector/1", lambda: registry).version == 1
    assert resolve_model("models:/edm-structure-detector@staging", lambda: registry).version == 2
    with pytest.raises(RegistryError, match=r"no version .* has the alias 'champion'"):
        resolve_model("models:/edm-structure-detector@champion", lambda: registry)
    with pytest.raises(RegistryError, match="model version 9"):
        resolve_model("9", lambda: registry)
