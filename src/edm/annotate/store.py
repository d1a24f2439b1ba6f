"""Saving annotation files so that nothing is lost: atomic writes, every earlier version kept,
and a save made against a version that is no longer the file's refused (ETag / If-Match).

History: before a file is replaced, its current bytes are copied to
``DIR/.history/<track id>/<UTC time>.yaml``; restoring a version writes it back the same way
(the version it replaces joins the history too). The ETag is the sha256 of the file's bytes,
so two servers or a hand edit in between are seen as well as a second browser tab.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edm.annotate.edit import Edit, apply_edit, styled
from edm.annotate.tracks import HISTORY_FOLDER
from edm.atomic import write_text_atomically
from edm.data.annotations import parse_annotation
from edm.data.yaml_io import dump_yaml, load_yaml
from edm.errors import EdmError

_VERSION_FORMAT = "%Y%m%dT%H%M%S.%fZ"


class Conflict(EdmError):
    """The file changed since the client read it (or it exists when the client creates it)."""

    def __init__(self, message: str, current: str | None) -> None:
        super().__init__(message)
        self.current = current


class NotFound(EdmError):
    """No such version, or no file to read."""


@dataclass(frozen=True)
class Version:
    id: str
    saved: str
    source: str | None
    verified_by: str | None
    tier: int | None

    def to_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def etag(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:40] + '"'


class Store:
    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def read(self, path: Path) -> tuple[bytes, str]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"{self._name(path)}: no annotation yet") from None
        return data, etag(data)

    def save_edit(self, path: Path, edit: Edit, if_match: str | None, reviewer: str) -> str:
        """Apply ``edit`` to the file's current document; the new ETag. The document is
        checked with edm's schema before anything is written (AnnotationError, unwritten)."""
        with self._lock(path):
            data, current = self.read(path)
            self._check(path, if_match, current)
            document = load_yaml(data.decode("utf-8"), self._name(path))
            if not isinstance(document, dict):
                raise NotFound(f"{self._name(path)}: not an annotation document")
            new = apply_edit(document, edit, reviewer)
            return self._replace(path, data, dump_yaml(styled(new)))

    def restore(self, path: Path, version: str, if_match: str | None) -> str:
        """Make an earlier version the current file again; the new ETag."""
        source = self._version_path(path, version)
        with self._lock(path):
            data, current = self.read(path)
            self._check(path, if_match, current)
            text = source.read_text(encoding="utf-8")
            return self._replace(path, data, text)

    def history(self, path: Path) -> list[Version]:
        """The file's earlier versions, newest first."""
        folder = self._history_folder(path)
        versions = []
        for file in sorted(folder.glob("*.yaml"), reverse=True) if folder.is_dir() else []:
            versions.append(_describe(file))
        return versions

    def version_text(self, path: Path, version: str) -> str:
        return self._version_path(path, version).read_text(encoding="utf-8")

    def _replace(self, path: Path, old: bytes, text: str) -> str:
        parse_annotation(load_yaml(text, self._name(path)), self._name(path))
        if text.encode("utf-8") == old:
            return etag(old)  # nothing changed: no new version
        stamp = datetime.now(UTC).strftime(_VERSION_FORMAT)
        kept = self._history_folder(path) / f"{stamp}.yaml"
        write_text_atomically(kept, old.decode("utf-8"))
        write_text_atomically(path, text)
        return etag(text.encode("utf-8"))

    def _check(self, path: Path, if_match: str | None, current: str) -> None:
        if if_match is None:
            raise Conflict(
                f"{self._name(path)}: a save needs If-Match with the ETag that was read", current
            )
        if if_match.strip() not in (current, "*"):
            raise Conflict(
                f"{self._name(path)} was changed by someone else since you opened it: "
                "reload to see their version (yours is not saved)",
                current,
            )

    def _version_path(self, path: Path, version: str) -> Path:
        try:
            datetime.strptime(version, _VERSION_FORMAT)
        except ValueError:
            raise NotFound(f"{self._name(path)}: no version {version!r}") from None
        file = self._history_folder(path) / f"{version}.yaml"
        if not file.is_file():
            raise NotFound(f"{self._name(path)}: no version {version!r}")
        return file

    def _history_folder(self, path: Path) -> Path:
        relative = path.resolve().relative_to(self.folder)
        return self.folder / HISTORY_FOLDER / relative

    def _name(self, path: Path) -> str:
        return path.resolve().relative_to(self.folder).as_posix()

    def _lock(self, path: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(path.resolve(), threading.Lock())


def _describe(file: Path) -> Version:
    metadata: dict[str, Any] = {}
    try:
        document = load_yaml(file.read_text(encoding="utf-8"), file)
        if isinstance(document, dict) and isinstance(document.get("metadata"), dict):
            metadata = document["metadata"]
    except (EdmError, OSError, UnicodeDecodeError):
        pass
    saved = datetime.strptime(file.stem, _VERSION_FORMAT).replace(tzinfo=UTC)
    tier = metadata.get("tier")
    return Version(
        id=file.stem,
        saved=saved.isoformat(timespec="seconds"),
        source=str(metadata["source"]) if "source" in metadata else None,
        verified_by=str(metadata["verified_by"]) if "verified_by" in metadata else None,
        tier=tier if isinstance(tier, int) else None,
    )
