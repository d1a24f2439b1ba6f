"""What the registry needs to log a checkpoint as an MLflow model, and the code that saves it.

The registry knows MLflow and nothing about audio: the inference layer describes its model as a
:class:`ModelPackage` (code file, artifacts, signature, input example, requirements) and the
registry turns that into an MLflow 3 logged model. Which function builds the package is named
by a ``module:function`` string (``settings.DEFAULT_MODEL_PACKAGER``), resolved when a version
is registered, so the registry never imports the inference code it packages.
"""

from __future__ import annotations

import importlib
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edm.errors import ConfigError

MODEL_ARTIFACT_NAME = "model"  # runs:/<run id>/model names the logged model


@dataclass(frozen=True)
class ModelPackage:
    """A python-function model from code: MLflow runs ``code_path`` to load it."""

    code_path: Path
    artifacts: Mapping[str, Path]
    signature: Any  # mlflow.models.ModelSignature
    input_example: Any
    pip_requirements: list[str]
    model_config: Mapping[str, Any] = field(default_factory=dict)
    model_type: str = "edm"
    # Source folders shipped with the version (its ``code/``, on the loader's path), and files
    # written into that copy ({"edm/_shipped.json": text}): the version carries its own code.
    code_paths: tuple[Path, ...] = ()
    code_files: Mapping[str, str] = field(default_factory=dict)


# checkpoint path -> its package, or None when the file is not a checkpoint the packager knows
Packager = Callable[[Path], ModelPackage | None]


def resolve_packager(packager: str | Packager | None) -> Packager | None:
    """A packager from a ``module:function`` name (or the function itself; None: none)."""
    if packager is None or callable(packager):
        return packager
    module_name, _, function_name = packager.partition(":")
    try:
        function = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"model packager '{packager}' cannot be loaded: {exc}") from None
    if not callable(function):
        raise ConfigError(f"model packager '{packager}' is not a function")
    return function


def save_package(package: ModelPackage, local_dir: Path, mlflow_model: Any) -> None:
    """Write the MLflow model folder (MLmodel, code, artifacts, environment) to ``local_dir``."""
    import mlflow.pyfunc

    with tempfile.TemporaryDirectory(prefix="edm-code-") as folder:
        mlflow.pyfunc.save_model(
            str(local_dir),
            python_model=str(package.code_path),
            artifacts={name: str(path) for name, path in package.artifacts.items()},
            signature=package.signature,
            input_example=package.input_example,
            pip_requirements=list(package.pip_requirements),
            model_config=dict(package.model_config),
            mlflow_model=mlflow_model,
            code_paths=_code_copy(package, Path(folder)) or None,
        )


def _code_copy(package: ModelPackage, folder: Path) -> list[str]:
    """Clean copies of the package's source folders (no caches, no git-ignored vendor files),
    with its extra files written in."""
    copies = []
    for source in package.code_paths:
        target = folder / Path(source).name
        shutil.copytree(source, target, ignore=_NOT_SHIPPED)
        copies.append(str(target))
    for relative, text in package.code_files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return copies


_NOT_SHIPPED = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", ".edm-onnx")
