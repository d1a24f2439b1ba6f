"""A held-out split of a user's reviewed tracks that does not drift as the folder grows.

``edm data split DIR --holdout 0.2 --seed S`` writes ``DIR/.edm-split.yaml`` with the fraction
and the seed. Whether a track is held out is a function of its audio's content (sha256) and the
seed alone: ``sha256(seed:audio_sha256)`` read as a number in [0, 1) below the fraction. So a
track never moves between the sides when tracks are added, removed or renamed, and a track
added later is assigned by the same rule without running the command again. The file also lists
the assignment when it was written, for people and for review.

``edm train`` leaves the held-out tracks out; ``edm evaluate`` and the promotion gate read them
with :func:`heldout_tracks`. A folder without the file has no held-out tracks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from edm.atomic import write_text_atomically
from edm.data.grouped_split import hash_fraction
from edm.data.tracks import Track, load_dataset
from edm.data.yaml_io import dump_yaml, load_yaml
from edm.errors import ConfigError, DataError

SPLIT_FILE = ".edm-split.yaml"
_FORMAT = "edm-split"


@dataclass(frozen=True)
class SplitRule:
    holdout: float
    seed: int

    def __post_init__(self) -> None:
        if not 0.0 < self.holdout < 1.0:
            raise ConfigError(f"--holdout must be between 0 and 1 (exclusive), got {self.holdout}")

    def is_heldout(self, audio_sha256: str) -> bool:
        return hash_fraction(self.seed, audio_sha256) < self.holdout


@dataclass(frozen=True)
class Split:
    rule: SplitRule
    train: list[Track]
    heldout: list[Track]


def content_hash(track: Track) -> str:
    """The track's identity for the split: the sha256 of its audio file's bytes."""
    from edm.file_hash import file_sha256

    return file_sha256(track.audio_path)


def read_rule(folder: Path | str) -> SplitRule | None:
    """The folder's split rule, or None when it has no split file."""
    path = Path(folder) / SPLIT_FILE
    if not path.is_file():
        return None
    document = load_yaml(path.read_text(encoding="utf-8"), path)
    if not isinstance(document, dict) or document.get("format") != _FORMAT:
        raise DataError(f"{path}: not an edm split file (format: {_FORMAT})")
    try:
        return SplitRule(float(document["holdout"]), int(document["seed"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{path}: holdout and seed are required ({exc})") from None


def split_tracks_by_content(tracks: Sequence[Track], rule: SplitRule | None) -> Split:
    """``tracks`` divided by ``rule`` (all in train without one)."""
    if rule is None:
        return Split(SplitRule(0.5, 0), list(tracks), [])
    train: list[Track] = []
    heldout: list[Track] = []
    for track in tracks:
        (heldout if rule.is_heldout(content_hash(track)) else train).append(track)
    return Split(rule, train, heldout)


def write_split(
    folder: Path | str, holdout: float, seed: int, *, audio_dirs: Iterable[Path | str] = ()
) -> Split:
    """Write ``folder``'s split file and return the assignment of its usable tracks."""
    folder = Path(folder)
    rule = SplitRule(holdout, seed)
    loaded = load_dataset(folder, audio_dirs=audio_dirs)
    split = split_tracks_by_content(loaded.tracks, rule)
    document = {
        "format": _FORMAT,
        "holdout": holdout,
        "seed": seed,
        "rule": "held out when sha256('<seed>:<audio sha256>') / 2^256 < holdout",
        "heldout": {t.name: content_hash(t) for t in split.heldout},
        "train": {t.name: content_hash(t) for t in split.train},
    }
    write_text_atomically(folder / SPLIT_FILE, dump_yaml(document))
    return split


def folder_split(folder: Path | str, *, audio_dirs: Iterable[Path | str] = ()) -> Split:
    """The folder's usable tracks divided by its split file (all train without one)."""
    loaded = load_dataset(folder, audio_dirs=audio_dirs)
    return split_tracks_by_content(loaded.tracks, read_rule(folder))


def heldout_tracks(folder: Path | str, *, audio_dirs: Iterable[Path | str] = ()) -> list[Track]:
    """The folder's held-out tracks (empty without a split file): what ``edm evaluate`` and the
    promotion gate judge a candidate on, and what ``edm train`` never trains on."""
    if read_rule(folder) is None:
        return []
    return folder_split(folder, audio_dirs=audio_dirs).heldout
