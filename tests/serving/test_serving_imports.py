"""The service imports inference and the registry's public API only: never training,
evaluation, the CLI or MLflow itself (read from the source, and checked on a real import)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import edm.serving

SERVING = Path(edm.serving.__file__).resolve().parent
FORBIDDEN = ("mlflow", "edm.training", "edm.evaluation", "edm.cli", "typer", "rich", "mir_eval")
# The registry's public API: its package and its front; not the parts behind it.
REGISTRY_PUBLIC = ("edm.registry", "edm.registry.model_registry")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _is(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_serving_source_imports_no_training_evaluation_cli_or_mlflow() -> None:
    files = sorted(SERVING.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        imported = _imports(path)
        bad = sorted(n for n in imported if any(_is(n, f) for f in FORBIDDEN))
        assert bad == [], f"{path.name} imports {bad}"
        registry = sorted(n for n in imported if _is(n, "edm.registry"))
        assert set(registry) <= set(REGISTRY_PUBLIC), f"{path.name} imports {registry}"


def test_importing_the_app_loads_none_of_them() -> None:
    code = (
        "import json, sys, edm.serving.app, edm.serving.routes; "
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "fastapi" in loaded
    assert sorted(n for n in loaded if any(_is(n, f) for f in FORBIDDEN)) == []


def test_nothing_in_edm_imports_the_service() -> None:
    source = SERVING.parent
    for path in sorted(source.rglob("*.py")):
        if SERVING in path.parents or path.parent == SERVING:
            continue
        importers = sorted(n for n in _imports(path) if _is(n, "edm.serving"))
        if path.relative_to(source).parts[0] == "cli":
            # The entry point: it checks the settings and the keys file, then runs the listeners.
            allowed = {"edm.serving", "edm.serving.config", "edm.serving.access"}
            assert set(importers) <= allowed | {"edm.serving.listeners"}, f"{path} {importers}"
        else:
            assert importers == [], f"{path} imports {importers}"
