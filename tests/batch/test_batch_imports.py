"""The batch jobs are a shell like the service: they import inference and the registry's public
API (and its model references), never training, evaluation, the service or the CLI; nothing in
edm imports them but their CLI command; and importing them loads neither Spark nor MLflow."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import edm.batch

BATCH = Path(edm.batch.__file__).resolve().parent
FORBIDDEN = ("edm.training", "edm.evaluation", "edm.serving", "edm.cli", "typer", "rich")
REGISTRY_PUBLIC = ("edm.registry", "edm.registry.model_registry", "edm.registry.refs")


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


def test_batch_imports_no_training_evaluation_service_or_cli() -> None:
    files = sorted(BATCH.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        imported = _imports(path)
        bad = sorted(n for n in imported if any(_is(n, f) for f in FORBIDDEN))
        assert bad == [], f"{path.name} imports {bad}"
        registry = sorted(n for n in imported if _is(n, "edm.registry"))
        assert set(registry) <= set(REGISTRY_PUBLIC), f"{path.name} imports {registry}"


def test_nothing_in_edm_imports_batch_but_its_command() -> None:
    for path in sorted(BATCH.parent.rglob("*.py")):
        if BATCH in path.parents or (path.name == "batch.py" and path.parent.name == "cli"):
            continue
        assert not any(_is(n, "edm.batch") for n in _imports(path)), path


def test_importing_batch_loads_neither_spark_nor_mlflow() -> None:
    code = "import json, sys, edm.batch, edm.cli.batch; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert "edm.batch.job" in loaded
    assert sorted(n for n in loaded if _is(n, "pyspark") or _is(n, "mlflow")) == []
