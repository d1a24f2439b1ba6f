"""Small documents kept with a version, on its run: today the drift reference.

The run is finished (training ended it); an artifact is added to it without reopening it, so
its status and end time stay as they were. A second upload replaces the first.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.errors import DataError, ModelVersionNotFoundError, RegistryError
from edm.registry.records import version_number

if TYPE_CHECKING:
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection

DRIFT_REFERENCE_ARTIFACT = "monitoring/drift_reference.json"


def log_version_file(
    connection: StoreConnection,
    queries: Queries,
    version: int | str,
    path: Path,
    artifact: str = DRIFT_REFERENCE_ARTIFACT,
) -> str:
    """Store the file ``path`` as ``artifact`` on the run of ``version``; returns the run id."""
    folder, _, name = artifact.rpartition("/")
    number = version_number(version, queries.model_name)
    with connection.errors(f"storing {artifact} on version {number}"):
        run_id = _run_of(queries, number)
        with tempfile.TemporaryDirectory(prefix="edm-version-file-") as tmp:
            named = Path(tmp) / name  # the artifact takes the file's name
            shutil.copyfile(path, named)
            connection.client.log_artifact(run_id, str(named), folder or None)
    return run_id


def read_version_json(
    connection: StoreConnection,
    queries: Queries,
    version: int | str,
    artifact: str = DRIFT_REFERENCE_ARTIFACT,
) -> dict[str, Any] | None:
    """The JSON document ``artifact`` on the run of ``version``; None when there is none."""
    folder = artifact.rpartition("/")[0]
    number = version_number(version, queries.model_name)
    with connection.errors(f"reading {artifact} of version {number}"):
        run_id = _run_of(queries, number)
        listed = connection.client.list_artifacts(run_id, folder or None)
        if not any(entry.path == artifact for entry in listed):
            return None
        with tempfile.TemporaryDirectory(prefix="edm-version-file-") as tmp:
            local = Path(connection.client.download_artifacts(run_id, artifact, tmp))
            text = local.read_text(encoding="utf-8")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{artifact} of version {number} is not valid JSON ({exc})") from None
    except RecursionError:
        raise DataError(f"{artifact} of version {number} is JSON nested too deep") from None
    if not isinstance(document, dict):
        raise DataError(f"{artifact} of version {number} is not a JSON object")
    return document


def _run_of(queries: Queries, number: int) -> str:
    model_version = queries.get_version(number)
    if model_version is None:
        raise ModelVersionNotFoundError(queries.model_name, number)
    if not model_version.run_id:
        raise RegistryError(f"version {number} of '{queries.model_name}' has no run")
    return model_version.run_id
