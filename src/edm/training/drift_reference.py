"""The drift reference of a new version, recorded at training time: the tracks it learnt from.

Drift asks whether the music coming in still looks like what the version knows. What it knows
is its training data, not a synthetic evaluation set (whose 60-100 s tracks differ in duration
and loudness from any real catalogue). So at the end of ``edm train`` the registered version
analyses its own training tracks (at most :data:`MAX_TRACKS`, spread evenly over them) through
the same pipeline the service runs, and their descriptors (``edm.monitoring.descriptors``:
audio and answers) become the version's drift reference (``source: training``), stored on its
run as ``monitoring/drift_reference.json``. The service and ``edm monitor drift`` read it from
the version.

A reference that cannot be made (no track analysable, the store unreachable) is logged as a
warning: it never fails a training that has already registered its version.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edm.errors import EdmError

if TYPE_CHECKING:
    from edm.data.tracks import Track
    from edm.monitoring.reference import DriftReference
    from edm.registry import ModelRegistry

log = logging.getLogger(__name__)

# Each track is analysed in full after training (about 1 s of CPU per minute of audio): 64
# tracks hold the descriptors' quantiles well enough for the monitor's 10-bin PSI, and keep a
# fine-tune of minutes from spending minutes more here.
MAX_TRACKS = 64


def training_reference(
    checkpoint: Path, tracks: Sequence[Track], *, data_dir: str = "", model: str = ""
) -> DriftReference | None:
    """The descriptors of ``tracks`` (at most MAX_TRACKS, evenly spread) as analysed by the
    checkpoint; None when no track could be analysed."""
    from edm.inference.pipeline import File2Structure
    from edm.monitoring.descriptors import track_descriptors
    from edm.monitoring.reference import DriftReference

    if not tracks:
        return None
    step = max(1, -(-len(tracks) // MAX_TRACKS))  # ceil: never more than MAX_TRACKS
    analyzer = File2Structure.from_checkpoint(checkpoint)
    rows = []
    for track in list(tracks)[::step]:
        try:
            analysis = analyzer.analyze(track.audio_path)
        except EdmError as exc:
            log.warning("drift reference: %s left out: %s", track.audio_path, exc)
            continue
        rows.append(track_descriptors(analysis.structure, analysis.audio))
    if not rows:
        return None
    return DriftReference.from_tracks(rows, model=model, data_dir=data_dir, source="training")


def record_training_reference(
    registry: ModelRegistry | None,
    version: int | None,
    checkpoint: Path,
    tracks: Sequence[Track],
    data_dir: Path | str | None = None,
) -> bool:
    """Store the training tracks' reference on ``version``; False (and a warning) when not."""
    if registry is None or version is None:
        return False
    from edm.monitoring.reference import FILE_NAME

    source = str(data_dir) if data_dir is not None else ""
    if not source and tracks:
        source = str(tracks[0].audio_path.parent)
    try:
        reference = training_reference(
            checkpoint, tracks, data_dir=source, model=f"version {version}"
        )
        if reference is None:
            log.warning(
                "version %s: no training track could be analysed: no drift reference", version
            )
            return False
        with tempfile.TemporaryDirectory(prefix="edm-reference-") as folder:
            registry.log_drift_reference(version, reference.write(Path(folder) / FILE_NAME))
    except EdmError as exc:
        log.warning("version %s: the drift reference was not recorded: %s", version, exc)
        return False
    return True
