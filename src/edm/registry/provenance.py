"""Where a run and a version came from, in the words the MLflow UI reads.

MLflow fills "Source" and "Created by" from its own ``mlflow.*`` run tags, which only its fluent
API sets; edm's client-created runs set them here, beside edm's own ``git_commit`` tag.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from edm.code_version import UNKNOWN, source_commit
from edm.settings import current_user

PARENT_RUN_TAG = "mlflow.parentRunId"
SOURCE_NAME_TAG = "mlflow.source.name"
SOURCE_TYPE_TAG = "mlflow.source.type"
SOURCE_COMMIT_TAG = "mlflow.source.git.commit"
USER_TAG = "mlflow.user"
MODEL_VERSIONS_TAG = "mlflow.modelVersions"  # on a logged model: the versions made from it


def provenance_tags() -> dict[str, str]:
    """MLflow's provenance tags for a run started by this process; the commit is edm's own
    code's (``edm.code_version``), never the current folder's."""
    tags = {
        SOURCE_NAME_TAG: entry_point(),
        SOURCE_TYPE_TAG: "LOCAL",
        USER_TAG: current_user(),
    }
    commit = source_commit()
    if commit != UNKNOWN:
        tags[SOURCE_COMMIT_TAG] = commit
    return tags


def entry_point(argv: list[str] | None = None) -> str:
    """``edm train``, ``python train.py``: the program and its subcommand, never its options.

    Options can hold secrets (a tracking URI with a password), so only a first argument that
    looks like a subcommand word is kept.
    """
    argv = sys.argv if argv is None else argv
    if not argv or not argv[0]:
        return "python"
    program = Path(argv[0])
    name = program.parent.name if program.name == "__main__.py" else program.name
    if len(argv) > 1 and argv[1].isidentifier():
        return f"{name} {argv[1]}"
    return name


def version_description(
    params: Mapping[str, str], tags: Mapping[str, str], metrics: Mapping[str, float]
) -> str:
    """One line on the version page: backbone, data, best validation loss."""
    parts = []
    backbone = params.get("backbone") or tags.get("backbone")
    if backbone:
        parts.append(f"{backbone} backbone")
    data_hash = tags.get("dataset_hash")
    if data_hash:
        parts.append(f"data {data_hash}")
    loss = metrics.get("best_val_loss")
    if loss is not None:
        parts.append(f"best validation loss {float(loss):.4f}")
    return ", ".join(parts) if parts else "edm model"
