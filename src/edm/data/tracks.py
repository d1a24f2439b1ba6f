"""Find the annotated tracks of a data folder and split them into training and validation.

A file that cannot be used (bad YAML, missing or unreadable audio) is skipped, never silently:
:func:`load_dataset` returns every skipped file with its reason and logs a warning for each.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

from edm.data.annotations import Annotation, load_annotation
from edm.errors import AnnotationError, AudioError, ConfigError, DataError

logger = logging.getLogger(__name__)

ANNOTATION_SUFFIXES = (".yaml", ".yml")
# An audio file much shorter or longer than its annotation says is probably the wrong file.
_DURATION_TOLERANCE_SECONDS = 1.0


@dataclass(frozen=True)
class Track:
    name: str  # the annotation's path relative to the data folder, without suffix
    annotation_path: Path
    audio_path: Path
    annotation: Annotation


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class LoadedDataset(NamedTuple):
    tracks: list[Track]
    skipped: list[SkippedFile]


def load_dataset(data_dir: Path | str) -> LoadedDataset:
    """Every usable annotated track under ``data_dir`` (recursively), sorted by name.

    Raises :class:`~edm.errors.DataError` when the folder is missing, holds no annotation
    files, or none of them is usable.
    """
    from edm.audio.io import read_audio_info  # soundfile: only where a dataset is read

    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: data folder not found")
    candidates = sorted(
        path
        for path in data_dir.rglob("*")
        if path.suffix in ANNOTATION_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(data_dir).parts)
    )
    if not candidates:
        raise DataError(f"{data_dir}: no annotation files (*.yaml) found")

    tracks: list[Track] = []
    skipped: list[SkippedFile] = []
    for path in candidates:
        try:
            annotation = load_annotation(path)
            audio_path = annotation.audio_path(path)
            if not audio_path.is_file():
                raise AnnotationError(path, "audio.file", f"audio file not found: {audio_path}")
            info = read_audio_info(audio_path)
        except (AnnotationError, AudioError) as exc:
            skipped.append(SkippedFile(path, _reason(exc, path)))
            logger.warning("skipping %s", skipped[-1])
            continue
        if abs(info.duration - annotation.audio.duration) > _DURATION_TOLERANCE_SECONDS:
            logger.warning(
                "%s: audio.duration is %.2f s but %s lasts %.2f s",
                path,
                annotation.audio.duration,
                audio_path.name,
                info.duration,
            )
        name = path.relative_to(data_dir).with_suffix("").as_posix()
        tracks.append(Track(name, path, audio_path, annotation))

    if not tracks:
        raise DataError(
            f"{data_dir}: none of the {len(candidates)} annotation files is usable "
            f"(first: {skipped[0]})"
        )
    return LoadedDataset(tracks, skipped)


def split_tracks(
    tracks: list[Track], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[Track], list[Track]]:
    """Split by track (never inside one), reproducibly for a seed whatever the input order.

    With two or more tracks and ``val_fraction > 0`` each side gets at least one track.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"validation fraction must be in [0, 1), got {val_fraction}")
    ordered = sorted(tracks, key=lambda track: track.name)
    n_val = round(len(ordered) * val_fraction)
    if val_fraction > 0 and len(ordered) >= 2:
        n_val = min(max(n_val, 1), len(ordered) - 1)
    elif len(ordered) < 2 and val_fraction > 0:
        logger.warning("only %d track: nothing left for validation", len(ordered))
        n_val = 0
    order = np.random.default_rng(seed).permutation(len(ordered))
    val = sorted((ordered[i] for i in order[:n_val]), key=lambda track: track.name)
    train = sorted((ordered[i] for i in order[n_val:]), key=lambda track: track.name)
    return train, val


def _reason(exc: Exception, path: Path) -> str:
    """The error's message without the file name, which the skip entry already carries."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text
