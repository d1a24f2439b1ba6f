"""How long ``edm annotate``'s page takes to open a 6-minute track, in Debian's Chromium.

A 6-minute stereo 44.1 kHz 16-bit WAV (about 63 MB, a kick, a bass line and noise that change
every 32 bars) and its tier-3 annotation in the annotator's form are written to a temporary
folder; ``edm annotate`` serves it on loopback in its own process. Measured from navigation to
the page's ``ready`` (the waveform drawn, the sections laid out, the audio playable), median of
``--runs``:

- cold: opened as soon as the server answers, peaks not cached yet (the server decodes and
  filters the track then);
- warm: peaks cached (what a reviewer gets: the server warms the cache when it starts);
- baseline: the same wavesurfer.js release in the same page decoding the whole file in the
  browser (no server peaks): what the page would cost without them.

Prints each figure, the ratio baseline/warm, and whether the target (warm < 1 s) is met.

    python bench/annotate_open.py [--runs 3] [--minutes 6]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

BPM = 128.0
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def write_track(folder: Path, minutes: float) -> None:
    rate, seconds = 44100, minutes * 60
    t = np.arange(int(rate * seconds)) / rate
    beat = 60.0 / BPM
    phase = (t % beat) / beat
    kick = np.sin(2 * np.pi * 55 * t) * np.exp(-phase * 12)
    section = (t // (32 * 4 * beat)).astype(int)
    bass = 0.3 * np.sin(2 * np.pi * (41 + 5 * (section % 3)) * t) * (section % 2)
    noise = 0.05 * np.random.default_rng(0).standard_normal(t.size) * (1 + section % 4)
    mono = (0.5 * kick + bass + noise).astype(np.float32) * 0.6
    sf.write(folder / "long.wav", np.stack([mono, mono], axis=1), rate, subtype="PCM_16")
    bar = 4 * beat
    starts = np.arange(0, seconds - bar, 32 * bar)
    labels = ["intro", "buildup", "drop", "breakdown", "buildup", "drop", "outro"]
    lines = [
        "metadata: {tier: 3, confidence: 0.5, source: ml_model_bench_v1, flags: [needs_review]}",
        f"audio: {{file: long.wav, duration: {seconds}, bpm: {BPM}, downbeat: 0.0, "
        "time_signature: [4, 4]}",
        "structure:",
    ]
    for i, start in enumerate(starts):
        label = labels[min(i, len(labels) - 1)] if i < len(starts) - 1 else "outro"
        lines.append(f"- {{bar: {1 + 32 * i}, label: {label}, time: {start:.3f}}}")
    (folder / "long.yaml").write_text("\n".join(lines) + "\n")


def open_ms(page: object, url: str) -> float:
    started = time.perf_counter()
    page.goto(url)  # type: ignore[attr-defined]
    page.wait_for_function("window.edmAnnotate && window.edmAnnotate.ready", timeout=120_000)  # type: ignore[attr-defined]
    return (time.perf_counter() - started) * 1000


BASELINE_JS = """async () => {
  const { default: WaveSurfer } = await import('/static/vendor/wavesurfer/wavesurfer.esm.js');
  const host = document.createElement('div'); document.body.append(host);
  const started = performance.now();
  const ws = WaveSurfer.create({ container: host, url: '/api/audio?id=long.yaml' });
  await new Promise(resolve => ws.on('ready', resolve));
  const took = performance.now() - started; ws.destroy(); return took;
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--minutes", type=float, default=6.0)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("no chromium: bash scripts/install-services.sh installs it")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "tracks"
        folder.mkdir()
        write_track(folder, args.minutes)
        size = (folder / "long.wav").stat().st_size / 1e6
        print(f"track: {args.minutes:g} min, {size:.0f} MB WAV")
        cold, warm, baseline = [], [], []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
            for run in range(args.runs):
                # Opened as soon as the server answers: its cache warming has just begun.
                server, url = _serve(folder, Path(tmp) / f"cache-{run}")
                try:
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    cold.append(open_ms(context.new_page(), url))
                    context.close()
                    context = browser.new_context(viewport={"width": 1400, "height": 900})
                    page = context.new_page()
                    warm.append(open_ms(page, url))
                    baseline.append(page.evaluate(BASELINE_JS))
                    context.close()
                finally:
                    server.terminate()
                    server.wait(timeout=10)
            browser.close()
    figures = {"cold": cold, "warm": warm, "baseline (browser decodes)": baseline}
    for name, values in figures.items():
        each = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:28s} median {statistics.median(values):7.0f} ms  ({each})")
    ratio = statistics.median(baseline) / statistics.median(warm)
    print(f"baseline / warm: {ratio:.1f}x")
    met = statistics.median(warm) < 1000
    print(f"target warm open < 1 s on loopback: {'met' if met else 'NOT met'}")


def _serve(folder: Path, cache: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``edm annotate FOLDER`` as a reviewer runs it, in its own process, on a free port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "EDM_CACHE_DIR": str(cache)}
    command = [sys.executable, "-m", "edm", "annotate", str(folder), "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url + "api/session", timeout=1)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("edm annotate did not start")


if __name__ == "__main__":
    main()
