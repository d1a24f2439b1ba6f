"""The documentation site as a reader gets it: ``mkdocs build --strict`` of this tree, served on
loopback and opened in Chromium with every request off loopback refused (no network here, nor
on many readers' machines), draws its diagrams from the vendored Mermaid and fetches nothing
from outside."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MERMAID = ROOT / "docs" / "javascripts" / "vendor" / "mermaid" / "mermaid.min.js"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not MERMAID.is_file():
        pytest.skip("Mermaid is not vendored: run scripts/vendor-js.sh (needs npm)")
    site = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(site)],
        cwd=ROOT, env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, capture_output=True, text=True,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.slow
def test_the_loop_page_draws_its_diagram_with_nothing_fetched_from_outside(
    site_url: str, chromium_browser: object
) -> None:
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    outside: list[str] = []
    errors: list[str] = []

    def only_loopback(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(site_url):
            route.continue_()  # type: ignore[attr-defined]
        else:
            outside.append(url)
            route.abort()  # type: ignore[attr-defined]

    context.route("**/*", only_loopback)
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{site_url}/concepts/loop.html")
        diagram = page.locator("article .mermaid").first
        # Drawn: Mermaid's SVG (in the theme's closed shadow root) gives the box its height;
        # undrawn, the page shows the diagram's source text instead.
        page.wait_for_function(
            "() => (document.querySelector('article .mermaid')?.getBoundingClientRect().height"
            " || 0) > 60",
            timeout=20_000,
        )
        assert diagram.bounding_box()["height"] > 60
        assert "flowchart LR" not in page.locator("article").inner_text()
        assert outside == [] and errors == []
    finally:
        context.close()
