"""The batch jobs are a shell like the service: they import inference and the registry's public
API (and its model references), never training, evaluation, the service or the CLI; nothing in
edm imports them but their CLI command; and importing them loads neither Spark nor MLflow."""

from __future__ import annotations

from pathlib import Path

from tests.import_reading import (
    boundary_breaches,
    imports_in,
    is_within,
    modules_after_import,
)

import edm.batch

BATCH = Path(edm.batch.__file__).resolve().parent
FORBIDDEN = ("edm.training", "edm.evaluation", "edm.serving", "edm.cli", "typer", "rich")
REGISTRY_PUBLIC = ("edm.registry", "edm.registry.model_registry", "edm.registry.refs")


def test_batch_imports_no_training_evaluation_service_or_cli() -> None:
    assert len(list(BATCH.glob("*.py"))) >= 5
    assert boundary_breaches(BATCH, FORBIDDEN, REGISTRY_PUBLIC) == []


def test_nothing_in_edm_imports_batch_but_its_command() -> None:
    for path in sorted(BATCH.parent.rglob("*.py")):
        if BATCH in path.parents or (path.name == "batch.py" and path.parent.name == "cli"):
            continue
        assert not any(is_within(n, "edm.batch") for n in imports_in(path)), path


def test_importing_batch_loads_neither_spark_nor_mlflow() -> None:
    loaded = modules_after_import("edm.batch", "edm.cli.batch")
    assert "edm.batch.job" in loaded
    assert sorted(n for n in loaded if is_within(n, "pyspark") or is_within(n, "mlflow")) == []
