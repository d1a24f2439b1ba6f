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


@pytest.fixture(scope="session")
def browser(chromium_browser: object) -> object:
    from tests.annotate.browser import require_page_assets

    require_page_assets()
    return chromium_browser


@pytest.fixture
def open_page(browser: object, server: AnnotateServer) -> Iterator[object]:
    """A new tab on the annotator, its errors collected; one 1400x900 context per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
    errors: list[str] = []

    def new_tab(track: str | None = None) -> object:
        tab = context.new_page()
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.goto(server.url + "/" + (f"?track={track}" if track else ""))
        return tab

    new_tab.errors = errors  # type: ignore[attr-defined]
    yield new_tab
    context.close()
    assert not errors, errors
