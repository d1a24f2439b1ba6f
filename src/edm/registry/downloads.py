"""Downloading a version's checkpoint to local disk, whole or not at all.

Each download carries an entry saying which version it is (``edm.registry.version_cache``), so
that a later call finds it again without MLflow.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import ModelVersionNotFoundError, RegistryError
from edm.registry.records import LOGGED_MODEL_PREFIX, version_number
from edm.registry.stages import Stage, aliased_version
from edm.registry.tracked_run import CHECKPOINT_ARTIFACT_PATH
from edm.registry.version_cache import VersionIdentity, version_folder, write_entry

if TYPE_CHECKING:
    from edm.registry.queries import Queries
    from edm.registry.store import StoreConnection


class Downloads:
    """Checkpoints of one registered model, fetched into ``<root>/<model>-v<version>/``."""

    def __init__(self, connection: StoreConnection, queries: Queries) -> None:
        self._connection = connection
        self._queries = queries
        self.model_name = queries.model_name

    def production(self, output_dir: str | Path) -> Path | None:
        """Download the Production checkpoint; its ``.pt`` path, or None if none."""
        with self._connection.errors("loading the production model"):
            aliases, _ = self._queries.model_aliases_and_tags()
            version = aliased_version(aliases, Stage.PRODUCTION)
            if version is None:
                return None
            return self.version(version, output_dir)

    def version(self, version: int | str, output_dir: str | Path) -> Path:
        """Download a version's checkpoint folder atomically; the ``.pt`` file in it.

        The folder lands under a temporary name and is renamed into place only once complete,
        so a reader never finds half a checkpoint, and a second download replaces the first.
        """
        number = version_number(version, self.model_name)
        with self._connection.errors(f"downloading version {number}"):
            model_version = self._queries.get_version(number)
            if model_version is None:
                raise ModelVersionNotFoundError(self.model_name, number)
            root = Path(output_dir).resolve()
            root.mkdir(parents=True, exist_ok=True)
            final = version_folder(root, self.model_name, number)
            with tempfile.TemporaryDirectory(dir=root, prefix=".partial-") as tmp:
                # A logged model (models:/<id>) holds the checkpoint among its artifacts; a
                # bare-checkpoint version keeps it in its run's model/ folder.
                if model_version.run_id and not model_version.source.startswith(
                    LOGGED_MODEL_PREFIX
                ):
                    fetched = self._connection.client.download_artifacts(
                        model_version.run_id, CHECKPOINT_ARTIFACT_PATH, tmp
                    )
                else:
                    from mlflow.artifacts import download_artifacts

                    fetched = download_artifacts(
                        artifact_uri=self._artifact_location(model_version.source),
                        dst_path=tmp,
                        tracking_uri=self._connection.location.tracking_uri,
                    )
                checkpoints = sorted(Path(fetched).rglob("*.pt"))
                if not checkpoints:
                    raise RegistryError(f"version {number} has no .pt checkpoint in its artifacts")
                relative = checkpoints[0].relative_to(fetched)
                # Written inside before the move: the entry appears with the files it names.
                write_entry(
                    Path(fetched),
                    tracking_uri=self._connection.location.tracking_uri,
                    model_name=self.model_name,
                    version=number,
                    identity=VersionIdentity(
                        model_version.source,
                        model_version.run_id or None,
                        model_version.creation_timestamp,
                    ),
                    checkpoint=checkpoints[0],
                )
                if final.exists():
                    shutil.rmtree(final)
                Path(fetched).rename(final)
        return final / relative

    def _artifact_location(self, source: str) -> str:
        """Where a version's files are: a logged model's own artifact location (MLflow
        resolves ``models:/<id>`` through the process-wide tracking URI, not this store's)."""
        if not source.startswith(LOGGED_MODEL_PREFIX):
            return source
        model_id = source.removeprefix(LOGGED_MODEL_PREFIX).strip("/")
        return self._connection.client.get_logged_model(model_id).artifact_location
