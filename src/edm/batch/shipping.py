"""The version's MLflow model, as the executors get it.

On a local master the executors read the downloaded folder where it is. On any other master
the folder (its ONNX export included, so no executor imports torch) is packed into one zip and
added with ``SparkContext.addArchive``: Spark copies it to each executor and unpacks it there,
which a cluster accepts where ``addFile`` of a folder is refused on any non-local master.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from edm.batch.spark import is_local
from edm.file_hash import file_sha256

ARCHIVE_PREFIX = "sparkarchive:"


def ship_model(session: Any, folder: Path, staging: Path) -> str:
    """Where executors find the model: ``folder`` itself on a local master, else
    ``sparkarchive:NAME`` for an archive written into ``staging`` and added to the session.

    ``staging`` must outlive the session: the driver serves the archive from there.
    """
    if is_local(session.sparkContext.master):
        return str(folder)
    packed = staging / f"{folder.name}.zip.partial"
    _zip_folder(folder, packed)
    # Named by content: a second job in the same session adds the same name only for the same
    # model (Spark refuses one name for two different files).
    archive = staging / f"{folder.name}-{file_sha256(packed)[:12]}.zip"
    packed.replace(archive)
    session.sparkContext.addArchive(str(archive))
    return ARCHIVE_PREFIX + archive.name


def model_folder(location: str) -> str:
    """The folder holding ``MLmodel``, in the process that runs a task."""
    if location.startswith(ARCHIVE_PREFIX):
        from pyspark import SparkFiles

        return SparkFiles.get(location.removeprefix(ARCHIVE_PREFIX))
    return location


def _zip_folder(folder: Path, archive: Path) -> None:
    # Stored, not deflated: weights and ONNX graphs barely compress, and a MERT version is
    # hundreds of megabytes that would cost seconds of CPU to squeeze by a few per cent.
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as packed:
        for root, folders, files in os.walk(folder):
            folders.sort()
            for name in sorted(files):
                path = Path(root) / name
                packed.write(path, path.relative_to(folder).as_posix())
