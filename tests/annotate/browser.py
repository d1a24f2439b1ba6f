"""Debian's Chromium driven by Playwright (PyPI), for the annotator's page.

Playwright downloads no browser here: it launches the system's ``chromium`` through
``executable_path``. Where there is no browser (or no Playwright, or the page's vendored
wavesurfer.js is missing) the browser tests skip and say why.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from edm.annotate.app import STATIC

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "annotate"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no chromium here (scripts/install-services.sh installs Debian's)")


def require_page_assets() -> None:
    if not (STATIC / "vendor" / "wavesurfer" / "wavesurfer.esm.js").is_file():
        pytest.skip("wavesurfer.js is not vendored: run scripts/vendor-js.sh (needs npm)")


def shot(page: object, name: str) -> Path:
    """Keep a screenshot as a test artifact: test-artifacts/annotate/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))  # type: ignore[attr-defined]
    return path
