"""What a training run records about its inputs, so that it can be traced back to exactly them.

- The training and validation sets as MLflow datasets (``mlflow.data``: name, digest of the
  listing, source folder), inputs of contexts ``train`` and ``validation``; the MLflow UI shows
  them on the run page.
- The list of tracks of each set as an artifact (``inputs/train_tracks.csv``,
  ``inputs/validation_tracks.csv``: name, audio content hash, split group).
- All tracks by content hash as the dataset input of context ``training`` that the promotion
  gate compares evaluation sets with (``edm.registry.evaluations``).
- The resolved environment: every installed distribution and its version
  (``environment/requirements.txt``) and the Python that ran (``environment/python.txt``).
"""

from __future__ import annotations

import platform
import sys
import tempfile
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from edm.data.grouped_split import group_key
from edm.data.track_hashes import track_hash

if TYPE_CHECKING:
    import pandas as pd

    from edm.data.tracks import Track
    from edm.registry import ModelRegistry
    from edm.registry.tracked_run import TrackedRun

SETS = (("train", "train"), ("validation", "validation"))  # (dataset name, input context)


def record_run_inputs(
    registry: ModelRegistry,
    run: TrackedRun,
    train: Sequence[Track],
    validation: Sequence[Track],
    *,
    source: str,
    digest: str | None,
) -> None:
    """Log the run's inputs (see the module docstring)."""
    from edm.registry.evaluations import TRAINING_CONTEXT, DataRecord

    listings = {"train": track_listing(train), "validation": track_listing(validation)}
    with tempfile.TemporaryDirectory(prefix="edm-inputs-") as folder:
        for name, context in SETS:
            listing = listings[name]
            if listing.empty:
                continue
            csv = Path(folder) / f"{name}_tracks.csv"
            listing.to_csv(csv, index=False)
            run.log_artifact(csv, "inputs")
            run.log_inputs(listing, source=source, name=name, context=context)
        environment = Path(folder) / "environment"
        environment.mkdir()
        (environment / "requirements.txt").write_text(resolved_requirements(), encoding="utf-8")
        python = [sys.version.split()[0], platform.python_implementation(), platform.platform()]
        (environment / "python.txt").write_text(" ".join(python) + "\n", encoding="utf-8")
        for file in sorted(environment.iterdir()):
            run.log_artifact(file, "environment")
    hashes = {row.audio_hash: row.track for row in _rows(listings)}
    if hashes:
        data = DataRecord(digest or "tracks", source, len(hashes), hashes)
        registry.log_data(run.run_id, data, TRAINING_CONTEXT)


def track_listing(tracks: Sequence[Track]) -> pd.DataFrame:
    """One row per track: its name, audio content hash and split group, sorted by name."""
    import pandas as pd

    rows = [
        {"track": t.name, "audio_hash": track_hash(t), "group": group_key(t)}
        for t in sorted(tracks, key=lambda track: track.name)
    ]
    return pd.DataFrame(rows, columns=["track", "audio_hash", "group"])


def resolved_requirements() -> str:
    """``name==version`` of every distribution installed in this environment, sorted."""
    pins = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            pins[name.lower()] = f"{name}=={dist.version}"
    return "".join(f"{pins[key]}\n" for key in sorted(pins))


def _rows(listings: dict[str, pd.DataFrame]):
    for listing in listings.values():
        yield from listing.itertuples(index=False)
