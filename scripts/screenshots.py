"""Make the documentation's pictures again: `make screenshots` (a few minutes on 2 cores).

In a throwaway folder it synthesises a few tracks, trains a small model (version 1), evaluates
it and promotes it to Production, fine-tunes version 2 from it into Staging, then writes:

- docs/images/analysis-plot.png: `edm analyze TRACK --plot` of a held-out track;
- docs/images/mlflow-model.png: the registered model's page in the MLflow UI (`mlflow server`
  on loopback over that store), with the aliases, the versions and the audit trail;
- docs/images/mlflow-experiment.png: the training experiment's runs, in the UI's "Model
  training" view.

Pages are drawn by Debian's chromium through Playwright (executable_path: Playwright downloads
no browser here). The annotator's picture comes from its browser tests
(tests/annotate/test_browser.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "images"
VENV_BIN = Path(sys.executable).parent
EDM = [str(VENV_BIN / "edm")]
MODEL = "edm-structure-detector"


def run(*args: str, store: Path) -> str:
    command = [*EDM, "--tracking-uri", str(store), *args]
    print("$", " ".join(command[1:]), flush=True)
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return done.stdout


def build_store(work: Path, epochs: int) -> Path:
    store = work / "mlruns"
    data, test = work / "data", work / "test"
    short = ("--max-seconds", "45")
    run("data", "synth", str(data), "--tracks", "8", "--seed", "0", *short, store=store)
    run("data", "synth", str(test), "--tracks", "2", "--seed", "1", *short, store=store)
    run("train", str(data), "--epochs", str(epochs), "--description", "docs",
        "--tag", "experiment=docs", "--no-progress", store=store)  # fmt: skip
    run("evaluate", str(test), "--model", "1", "--log", store=store)
    run("models", "promote", "1", "Staging", "--reason", "evaluated on the test set", store=store)
    run("models", "promote", "1", "Production", "--reason", "passed Staging", store=store)
    run("train", str(data), "--init-from", "1", "--epochs", "1", "--lr", "3e-5",
        "--description", "docs-finetune", "--no-progress", store=store)  # fmt: skip
    run("models", "promote", "2", "Staging", "--reason", "fine-tuned from version 1", store=store)
    return store


def analysis_plot(work: Path, store: Path) -> None:
    track = sorted((work / "test").glob("*.wav"))[0]
    out = work / "plot"
    run("analyze", str(track), "--plot", "--output", str(out), store=store)
    shutil.copyfile(out / f"{track.stem}.png", IMAGES / "analysis-plot.png")


def experiment_id(store: Path) -> str:
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
    return client.get_experiment_by_name("edm-training").experiment_id


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mlflow_pages(store: Path, work: Path) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    log = open(work / "mlflow-server.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(VENV_BIN / "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}",
         "--default-artifact-root", str(store.parent / "mlartifacts"), "--workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit((work / "mlflow-server.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if chromium is None:
            raise SystemExit("no chromium: scripts/install-services.sh installs Debian's")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 1050})
            page.goto(f"{base}/#/models/{MODEL}")
            page.get_by_text("Audit trail").first.wait_for(timeout=60_000)
            page.get_by_text("Version 1").first.wait_for(timeout=60_000)
            page.locator("button[aria-label='Close']").first.click()  # the assistant's panel
            page.get_by_text("Tags", exact=True).first.click()  # the versions come into view
            page.wait_for_timeout(1000)
            page.screenshot(path=str(IMAGES / "mlflow-model.png"))
            experiment = experiment_id(store)
            page.goto(f"{base}/#/experiments/{experiment}?workflowType=machine_learning")
            page.get_by_text("docs-finetune").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(IMAGES / "mlflow-experiment.png"))
            browser.close()
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=8, help="Training epochs of version 1.")
    parser.add_argument("--keep", type=Path, help="Work in this folder and keep it.")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    work = args.keep or Path(tempfile.mkdtemp(prefix="edm-screenshots-"))
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        store = build_store(work, args.epochs)
        analysis_plot(work, store)
        mlflow_pages(store, work)
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"pictures in {IMAGES.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
