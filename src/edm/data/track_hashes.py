"""Tracks named by the content of their audio: what the promotion gate compares to find an
evaluation set that shares tracks with a version's training data, whatever the files are
called or wherever they lie."""

from __future__ import annotations

from collections.abc import Iterable

from edm.data.tracks import Track
from edm.file_hash import file_sha256

TRACK_HASH_CHARS = 16  # 64 bits of sha256: no accidental collision in any catalogue


def track_hash(track: Track) -> str:
    """The track's audio content hash (the first hex digits of its sha256)."""
    return file_sha256(track.audio_path)[:TRACK_HASH_CHARS]


def track_hashes(tracks: Iterable[Track]) -> dict[str, str]:
    """Each track's content hash → its name."""
    return {track_hash(track): track.name for track in tracks}
