from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.annotate.helpers import REVIEWER, AnnotateServer, copy_tracks, make_tracks

from edm.annotate import AnnotateConfig


@pytest.fixture(scope="session")
def _track_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tracks(tmp_path_factory.mktemp("annotate-template") / "tracks")


@pytest.fixture
def tracks(tmp_path: Path, _track_template: Path) -> Path:
    """A fresh copy of the three tracks for each test."""
    return copy_tracks(_track_template, tmp_path / "tracks")


@pytest.fixture
def server(tracks: Path, tmp_path: Path) -> Iterator[AnnotateServer]:
    config = AnnotateConfig(
        folder=tracks, reviewer=REVIEWER, cache_dir=tmp_path / "cache", warm_peaks=False
    )
    with AnnotateServer(config) as running:
        yield running
