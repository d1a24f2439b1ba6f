"""The service imports inference and the registry's public API only: never training,
evaluation, the CLI or MLflow itself (read from the source, and checked on a real import)."""

from __future__ import annotations

from pathlib import Path

from tests.import_reading import (
    boundary_breaches,
    imports_in,
    is_within,
    modules_after_import,
)

import edm.serving

SERVING = Path(edm.serving.__file__).resolve().parent
FORBIDDEN = ("mlflow", "edm.training", "edm.evaluation", "edm.cli", "typer", "rich", "mir_eval")
# The registry's public API: its package and its front; not the parts behind it.
REGISTRY_PUBLIC = ("edm.registry", "edm.registry.model_registry")


def test_serving_source_imports_no_training_evaluation_cli_or_mlflow() -> None:
    assert len(list(SERVING.glob("*.py"))) >= 5
    assert boundary_breaches(SERVING, FORBIDDEN, REGISTRY_PUBLIC) == []


def test_importing_the_app_loads_none_of_them() -> None:
    loaded = modules_after_import("edm.serving.app", "edm.serving.routes")
    assert "fastapi" in loaded
    assert sorted(n for n in loaded if any(is_within(n, f) for f in FORBIDDEN)) == []


def test_nothing_in_edm_imports_the_service() -> None:
    source = SERVING.parent
    for path in sorted(source.rglob("*.py")):
        if SERVING in path.parents or path.parent == SERVING:
            continue
        importers = sorted(n for n in imports_in(path) if is_within(n, "edm.serving"))
        if path.relative_to(source).parts[0] == "cli":
            # The entry point: it checks the settings and the open-files limit the connection
            # cap needs, then runs the listeners. (The keys file is edm.api_keys'.)
            allowed = {"edm.serving", "edm.serving.config", "edm.serving.connections"}
            assert set(importers) <= allowed | {"edm.serving.listeners"}, f"{path} {importers}"
        else:
            assert importers == [], f"{path} imports {importers}"
