"""Find the audio file an annotation names (``audio.file``), beside it or in audio folders.

The spec project keeps annotations in one tree (``data/annotations/reference/``) and audio in
another, and its ``audio.file`` is often an absolute path on the annotator's machine. So, in
order, the first file that exists wins:

1. ``audio.file`` itself when absolute, else relative to the annotation's folder;
2. for each audio folder: ``audio.file`` relative to it, then its file name directly in it;
3. the file name anywhere below the audio folders, when exactly one file has it (two files of
   that name make the track ambiguous: it is skipped, naming both).

The command line takes audio folders from ``--audio-dir`` and the ``EDM_AUDIO_DIR`` environment
variable (several folders separated by ``:``; used when no ``--audio-dir`` is given); the
library takes them as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath, PureWindowsPath

from edm.errors import AnnotationError, DataError

AUDIO_DIR_ENV = "EDM_AUDIO_DIR"
"""Environment variable the CLI reads audio folders from when no ``--audio-dir`` is given."""


class AudioFinder:
    """Resolves ``audio.file`` against the annotation's folder and the audio folders."""

    def __init__(self, audio_dirs: Iterable[Path | str] = ()) -> None:
        self.audio_dirs: tuple[Path, ...] = tuple(Path(d) for d in audio_dirs)
        for folder in self.audio_dirs:
            if not folder.is_dir():
                raise DataError(f"{folder}: audio folder not found")
        self._by_name: dict[str, list[Path]] | None = None

    def find(self, annotation_path: Path, audio_file: str) -> Path:
        """The audio file's path; AnnotationError (field ``audio.file``) when none or two."""
        named = _as_path(audio_file)
        first = named if named.is_absolute() else annotation_path.parent / named
        candidates = [first]
        for folder in self.audio_dirs:
            if not named.is_absolute():
                candidates.append(folder / named)
            candidates.append(folder / named.name)
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        matches = self._index().get(named.name, []) if self.audio_dirs else []
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(str(m) for m in matches[:2])
            raise AnnotationError(
                annotation_path,
                "audio.file",
                f"{len(matches)} files named {named.name} under the audio folders ({shown}): "
                "give audio.file a folder",
            )
        where = "" if not self.audio_dirs else f" (nor in {_listed(self.audio_dirs)})"
        raise AnnotationError(
            annotation_path, "audio.file", f"audio file not found: {first}{where}"
        )

    def _index(self) -> dict[str, list[Path]]:
        # Built once per dataset, and only when some file was not found directly.
        if self._by_name is None:
            self._by_name = {}
            for folder in self.audio_dirs:
                for path in sorted(folder.rglob("*")):
                    hidden = any(p.startswith(".") for p in path.relative_to(folder).parts)
                    if not hidden and path.is_file():
                        self._by_name.setdefault(path.name, []).append(path)
        return self._by_name


def relative_name(path: Path, roots: Sequence[Path]) -> str:
    """``path`` relative to the first root that holds it (POSIX), else its absolute path."""
    resolved = path.resolve()
    for root in roots:
        try:
            return resolved.relative_to(root.resolve()).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


def _as_path(audio_file: str) -> Path:
    # An annotation made on Windows names C:\music\x.flac: keep its parts, not one odd name.
    # Here it is looked for as music/x.flac (relative), then by its name.
    if "\\" in audio_file and "/" not in audio_file:
        windows = PureWindowsPath(audio_file)
        parts = windows.parts[1:] if windows.anchor else windows.parts
        return Path(*parts)
    return Path(PurePosixPath(audio_file))


def _listed(folders: Sequence[Path]) -> str:
    return ", ".join(str(f) for f in folders)
