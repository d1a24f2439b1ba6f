"""Find the annotated tracks of a data folder, select them, and split them for training.

A file that cannot be used (bad YAML, missing or unreadable audio) is skipped, never silently:
:func:`load_dataset` returns every skipped file with its reason (and logs it). A track left out
by a :class:`TrackSelection` (tier, confidence) is not skipped but *excluded*, and counted.
What was read but changed (an unknown label read as ``unlabeled``) comes back as one warning
line per file.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from edm.data.annotations import Annotation, load_annotation
from edm.data.audio_paths import AudioFinder, relative_name
from edm.errors import AnnotationError, AudioError, ConfigError, DataError

logger = logging.getLogger(__name__)

ANNOTATION_SUFFIXES = (".yaml", ".yml")
# An audio file much shorter or longer than its annotation says is probably the wrong file.
_DURATION_TOLERANCE_SECONDS = 1.0
_OUTSIDE = "@audio/"  # prefix, in the dataset hash, of audio files outside the data folder


@dataclass(frozen=True)
class Track:
    name: str  # the annotation's path relative to the data folder, without suffix
    annotation_path: Path
    audio_path: Path
    annotation: Annotation

    @property
    def tier(self) -> int:
        return self.annotation.metadata.tier


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class FileWarning:
    """A file that was used, with what was changed to use it."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class TrackSelection:
    """Which usable tracks to use: tier ``min_tier`` or better (tier 1 is verified by hand, so
    ``min_tier=2`` keeps tiers 1 and 2), and ``metadata.confidence`` at least ``min_confidence``.
    """

    min_tier: int | None = None
    min_confidence: float | None = None

    def __post_init__(self) -> None:
        if self.min_tier is not None and not 1 <= self.min_tier <= 3:
            raise ConfigError(f"--min-tier must be 1, 2 or 3, got {self.min_tier}")
        if self.min_confidence is not None and not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"--min-confidence must be in 0..1, got {self.min_confidence}")

    def admits(self, annotation: Annotation) -> bool:
        metadata = annotation.metadata
        if self.min_tier is not None and metadata.tier > self.min_tier:
            return False
        return self.min_confidence is None or metadata.confidence >= self.min_confidence

    def describe(self) -> str:
        parts = []
        if self.min_tier is not None:
            parts.append(f"tier {self.min_tier} or better")
        if self.min_confidence is not None:
            parts.append(f"confidence >= {self.min_confidence:g}")
        return " and ".join(parts) or "all tracks"


@dataclass
class LoadedDataset:
    tracks: list[Track]
    skipped: list[SkippedFile]
    excluded: list[Track] = field(default_factory=list)  # usable, but not selected
    warnings: list[FileWarning] = field(default_factory=list)
    data_dir: Path = Path(".")
    audio_dirs: tuple[Path, ...] = ()

    def tier_counts(self, tracks: Iterable[Track] | None = None) -> dict[int, int]:
        """How many of ``tracks`` (default: the selected ones) there are of each tier 1..3."""
        counted = Counter(track.tier for track in (self.tracks if tracks is None else tracks))
        return {tier: counted.get(tier, 0) for tier in (1, 2, 3)}

    def files_hash(self) -> str:
        """DVC-style hash (``<md5>.dir``) of exactly the files the selected tracks use.

        Each annotation and audio file counts once, named relative to the data folder, or for
        audio elsewhere ``@audio/`` plus its path in its audio folder. When the folder holds
        just those files this equals ``dvc add``'s hash of it (``edm data hash``).
        """
        from edm.data.lineage import files_hash

        files: dict[str, Path] = {}
        for track in self.tracks:
            files[relative_name(track.annotation_path, [self.data_dir])] = track.annotation_path
            inside = relative_name(track.audio_path, [self.data_dir])
            if not Path(inside).is_absolute():
                files[inside] = track.audio_path
            else:
                files[_OUTSIDE + relative_name(track.audio_path, self.audio_dirs)] = (
                    track.audio_path
                )
        return files_hash(files)


def load_dataset(
    data_dir: Path | str,
    *,
    audio_dirs: Iterable[Path | str] = (),
    selection: TrackSelection | None = None,
) -> LoadedDataset:
    """Every usable annotated track under ``data_dir`` (recursively), sorted by name.

    Annotations may be in our form or the spec project's; their audio is looked for beside
    them, then in ``audio_dirs`` (:mod:`edm.data.audio_paths`). ``selection`` keeps only some
    of the usable tracks. Raises :class:`~edm.errors.DataError` when the folder is missing,
    holds no annotation files, or none of them is usable (or selected).
    """
    from edm.audio.io import read_audio_info  # soundfile: only where a dataset is read

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found")
    finder = AudioFinder(audio_dirs)
    candidates = sorted(
        path
        for path in data_dir.rglob("*")
        if path.suffix in ANNOTATION_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(data_dir).parts)
    )
    if not candidates:
        raise DataError(f"{data_dir}: no annotation files (*.yaml) found")

    loaded = LoadedDataset([], [], data_dir=data_dir, audio_dirs=finder.audio_dirs)
    for path in candidates:
        notes: list[str] = []
        try:
            annotation = load_annotation(path, notes)
            audio_path = finder.find(path, annotation.audio.file)
            info = read_audio_info(audio_path)
        except (AnnotationError, AudioError) as exc:
            loaded.skipped.append(SkippedFile(path, _reason(exc, path)))
            logger.info("skipping %s", loaded.skipped[-1])
            continue
        loaded.warnings.extend(FileWarning(path, note) for note in notes)
        if abs(info.duration - annotation.audio.duration) > _DURATION_TOLERANCE_SECONDS:
            message = (
                f"audio.duration is {annotation.audio.duration:.2f} s but {audio_path.name} "
                f"lasts {info.duration:.2f} s"
            )
            loaded.warnings.append(FileWarning(path, message))
            logger.info("%s: %s", path, message)
        name = path.relative_to(data_dir).with_suffix("").as_posix()
        track = Track(name, path, audio_path, annotation)
        if selection is None or selection.admits(annotation):
            loaded.tracks.append(track)
        else:
            loaded.excluded.append(track)

    if not loaded.tracks:
        if loaded.excluded:
            raise DataError(
                f"{data_dir}: none of the {len(loaded.excluded)} usable tracks is "
                f"{selection.describe() if selection else 'selected'}"
            )
        raise DataError(
            f"{data_dir}: none of the {len(candidates)} annotation files is usable "
            f"(first: {loaded.skipped[0]})"
        )
    return loaded


def _reason(exc: Exception, path: Path) -> str:
    """The error's message without the file name, which the skip entry already carries."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
