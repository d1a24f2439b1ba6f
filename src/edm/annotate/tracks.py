"""The tracks of an annotation folder: their YAML files, their audio, and where each stands.

A track is named by its YAML file's path relative to the folder (``club/track_000.yaml``), also
when the file does not exist yet: an audio file with no annotation is the track of the YAML
file it would get (beside it when it lies in the folder, at the same relative path when it lies
in an audio folder). Every path resolves inside the folder or an audio folder, symbolic links
included; anything else is "no such track".

Status, from the file: ``error`` (it cannot be read; the others still can), ``in_progress``
(flag ``in_progress``, a draft saved from the page), ``needs_review`` (flag ``needs_review`` or
tier 3, or no annotation yet), ``reviewed`` (anything else).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from edm.audio.io import SUPPORTED_SUFFIXES
from edm.data.annotations import Annotation, load_annotation
from edm.data.audio_paths import AudioFinder
from edm.data.review_queue import read_queue
from edm.errors import EdmError

ANNOTATION_SUFFIXES = (".yaml", ".yml")
AUDIO_SUFFIXES = SUPPORTED_SUFFIXES  # every format edm reads (edm.audio.io)
HISTORY_FOLDER = ".history"
STATUSES = ("needs_review", "in_progress", "reviewed", "error")


@dataclass(frozen=True)
class Track:
    id: str  # the YAML file's path relative to the folder, POSIX
    yaml: Path
    audio: Path | None
    status: str
    annotated: bool
    confidence: float | None = None
    source: str | None = None
    tier: int | None = None
    error: str | None = None
    annotation: Annotation | None = None

    def summary(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": PurePosixPath(self.id).stem,
            "status": self.status,
            "annotated": self.annotated,
            "confidence": self.confidence,
            "source": self.source,
            "tier": self.tier,
            "error": self.error,
            "has_audio": self.audio is not None,
        }


def inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path`` (symbolic links resolved) lies inside one of the resolved ``roots``."""
    resolved = path.resolve()
    return any(resolved == root or root in resolved.parents for root in roots)


def status_of(annotation: Annotation) -> str:
    flags = set(annotation.metadata.flags or ())
    if "in_progress" in flags:
        return "in_progress"
    if "needs_review" in flags or annotation.metadata.tier == 3:
        return "needs_review"
    return "reviewed"


class TrackIndex:
    """Lists the folder's tracks; each YAML file is read again only when it changes."""

    def __init__(self, folder: Path, audio_dirs: tuple[Path, ...] = ()) -> None:
        self.folder = folder.resolve()
        self.audio_dirs = tuple(d.resolve() for d in audio_dirs)
        self.roots = (self.folder, *self.audio_dirs)
        self._finder = AudioFinder(self.audio_dirs)
        self._memo: dict[Path, tuple[tuple[int, int], Track]] = {}
        self._lock = threading.Lock()

    def yaml_path(self, track_id: str) -> Path | None:
        """The YAML file a client's track id names, or None when it names none we serve."""
        if not track_id or "\x00" in track_id or "\\" in track_id:
            return None
        relative = PurePosixPath(track_id)
        if relative.is_absolute() or relative.suffix not in ANNOTATION_SUFFIXES:
            return None
        if any(part in ("..", "") or part.startswith(".") for part in relative.parts):
            return None  # no parent hops and no hidden folders (.history is the API's)
        path = self.folder.joinpath(*relative.parts)
        return path if inside(path, (self.folder,)) else None

    def tracks(self) -> list[Track]:
        """Every track: the annotated ones, then the audio files nobody annotated yet."""
        found: dict[str, Track] = {}
        for path in self._files(self.folder, ANNOTATION_SUFFIXES):
            track = self._read(path)
            found[track.id] = track
        claimed = {t.audio.resolve() for t in found.values() if t.audio is not None}
        for root in self.roots:
            for audio in self._files(root, AUDIO_SUFFIXES):
                if audio.resolve() in claimed:
                    continue
                relative = audio.relative_to(root).with_suffix(".yaml")
                track_id = relative.as_posix()
                if track_id in found:
                    continue
                claimed.add(audio.resolve())
                found[track_id] = Track(
                    track_id, self.folder / relative, audio, "needs_review", annotated=False
                )
        # The order edm review queue wrote comes first, for the tracks still to review.
        queued = {track_id: i for i, track_id in enumerate(read_queue(self.folder))}

        def order(track: Track) -> tuple[int, tuple[int, float, str]]:
            waiting = track.status in ("in_progress", "needs_review") and track.id in queued
            return (0, (queued[track.id], 0.0, "")) if waiting else (1, queue_order(track))

        return sorted(found.values(), key=order)

    def track(self, track_id: str) -> Track | None:
        path = self.yaml_path(track_id)
        if path is None:
            return None
        if path.is_file():
            return self._read(path)
        for track in self.tracks():
            if track.id == track_id:
                return track
        return None

    def forget(self, path: Path) -> None:
        with self._lock:
            self._memo.pop(path, None)

    def _read(self, path: Path) -> Track:
        status = path.stat()
        stamp = (status.st_mtime_ns, status.st_size)
        with self._lock:
            memo = self._memo.get(path)
        if memo is not None and memo[0] == stamp:
            return memo[1]
        track_id = path.relative_to(self.folder).as_posix()
        try:
            annotation = load_annotation(path)
        except EdmError as exc:
            track = Track(track_id, path, None, "error", annotated=True, error=_short(exc, path))
        else:
            audio, error = self._audio(path, annotation)
            track = Track(
                track_id,
                path,
                audio,
                status_of(annotation),
                annotated=True,
                confidence=annotation.metadata.confidence,
                source=annotation.metadata.source,
                tier=annotation.metadata.tier,
                error=error,
                annotation=annotation,
            )
        with self._lock:
            self._memo[path] = (stamp, track)
        return track

    def _audio(self, path: Path, annotation: Annotation) -> tuple[Path | None, str | None]:
        try:
            audio = self._finder.find(path, annotation.audio.file)
        except EdmError as exc:
            return None, _short(exc, path)
        if not inside(audio, self.roots):
            # An absolute audio.file elsewhere on this machine: found by name or not at all.
            named = [d / Path(annotation.audio.file).name for d in self.roots]
            audio = next((p for p in named if p.is_file()), None)  # type: ignore[assignment]
            if audio is None:
                return None, "audio.file lies outside the folder and the audio folders"
        return audio, None

    @staticmethod
    def _files(root: Path, suffixes: tuple[str, ...]) -> list[Path]:
        files = []
        for folder, subfolders, names in os.walk(root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith(".") and name.lower().endswith(suffixes):
                    files.append(Path(folder) / name)
        return files


def queue_order(track: Track) -> tuple[int, float, str]:
    """Drafts first, then what needs review, least sure first (no annotation yet: unknown,
    first), then reviewed tracks; broken files last."""
    rank = {"in_progress": 0, "needs_review": 1, "reviewed": 2, "error": 3}[track.status]
    confidence = -1.0 if track.confidence is None else track.confidence
    return rank, confidence, track.id


def _short(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
