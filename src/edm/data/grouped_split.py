"""The training/validation split of ``edm train``: stable as the folder grows, and by group.

A track's side is a function of its *group key* and the seed alone, with the hashing of the
held-out split (``edm.data.split``): ``sha256('<seed>:<key>')`` read as a number in [0, 1),
below the validation fraction → validation. So adding, removing or renaming other tracks never
moves a track across, and every track of one group lands on the same side.

The group key is, in order:

- the annotation's ``metadata.group`` when it has one (``group: "artist - title"``), which a
  person sets for versions of one piece that their names do not tell apart;
- else the track's title normalised: its file name, lower case, without what only marks a
  version of the same recording ("(Extended Mix)", "- Radio Edit", "[Original Mix]", "VIP"...),
  so that an extended mix and its radio edit never sit on both sides.

With two or more groups and a fraction above zero each side gets at least one group: when the
hash leaves a side empty (few tracks), the group nearest the threshold moves over.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from edm.errors import ConfigError

if TYPE_CHECKING:
    from edm.data.tracks import Track

GROUP_FIELD = "group"
_VERSION_WORDS = (
    r"extended|radio|original|club|dub|instrumental|vip|short|long|clean|explicit|"
    r"edit|mix|version|cut|rework"
)
# "(Extended Mix)", "[Radio Edit]", " - Original Mix" at the end of a title, made only of words
# that name a version.
_VERSION_SUFFIX = re.compile(
    rf"\s*(?:[(\[]\s*(?:(?:{_VERSION_WORDS})\b[\s.]*)+[)\]]|-\s+(?:(?:{_VERSION_WORDS})\b\s*)+)\s*$"
)
_SPACES = re.compile(r"[\s_]+")


def hash_fraction(seed: int, key: str) -> float:
    """``sha256('<seed>:<key>')`` as a number in [0, 1): the split's coin, stable forever."""
    digest = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def normalised_title(name: str) -> str:
    """A track name's title without version marks: 'a/Song (Extended Mix)' -> 'song'."""
    title = PurePosixPath(name).name.lower()
    previous = None
    while previous != title:  # "Song (VIP) (Extended Mix)"
        previous = title
        title = _VERSION_SUFFIX.sub("", title)
    return _SPACES.sub(" ", title).strip() or PurePosixPath(name).name.lower()


def group_key(track: Track) -> str:
    """The key that decides the track's side (see the module docstring)."""
    extra = track.annotation.metadata.model_extra or {}
    group = extra.get(GROUP_FIELD)
    if isinstance(group, str | int) and str(group).strip():
        return f"group:{str(group).strip()}"
    return f"title:{normalised_title(track.name)}"


def split_tracks(
    tracks: Sequence[Track], val_fraction: float = 0.2, seed: int = 0
) -> tuple[list[Track], list[Track]]:
    """(train, validation), each sorted by name; by group key and seed, never by order."""
    if not 0.0 <= val_fraction < 1.0:
        raise ConfigError(f"validation fraction must be in [0, 1), got {val_fraction}")
    coins: dict[str, float] = {}
    for track in tracks:
        key = group_key(track)
        coins.setdefault(key, hash_fraction(seed, key))
    validation = {key for key, coin in coins.items() if coin < val_fraction}
    if val_fraction > 0 and len(coins) >= 2:
        if not validation:  # the lowest coin is the nearest to the threshold
            validation = {min(coins, key=coins.__getitem__)}
        elif len(validation) == len(coins):
            validation.discard(max(coins, key=coins.__getitem__))
    by_name = sorted(tracks, key=lambda track: track.name)
    train = [track for track in by_name if group_key(track) not in validation]
    val = [track for track in by_name if group_key(track) in validation]
    return train, val
