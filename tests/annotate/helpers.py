"""Three short synthetic tracks as a reviewer finds them, and the real annotator on loopback."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import httpx
import uvicorn
import yaml
from tests.servers import free_port

from edm.annotate import AnnotateConfig, create_app
from edm.data.annotations import load_annotation, save_annotation
from edm.synth.config import SynthConfig
from edm.synth.dataset import write_synthetic_dataset

REVIEWER = "ada"
# track_000 and track_001: the model's proposals (the spec project's form, tier 3); the least
# sure first. track_002: reviewed already, in our form.
PROPOSALS = {"track_000": 0.41, "track_001": 0.73}


def make_tracks(template: Path) -> Path:
    """Render the three tracks once (about a second): 150 BPM, a bar is 1.6 s."""
    config = SynthConfig(min_seconds=16, max_seconds=20, min_bpm=150, max_bpm=150)
    write_synthetic_dataset(template, 3, seed=0, config=config, workers=1)
    for stem, confidence in PROPOSALS.items():
        path = template / f"{stem}.yaml"
        annotation = load_annotation(path)
        structure = [
            entry.model_copy(update={"confidence": round(confidence - 0.1 * (i % 2), 2)})
            for i, entry in enumerate(annotation.structure)
        ]
        metadata = annotation.metadata.model_copy(
            update={
                "tier": 3,
                "confidence": confidence,
                "source": "ml_model_edm-structure_v3",
                "flags": ["needs_review"],
                "notes": "kept as it is",
            }
        )
        proposal = annotation.model_copy(update={"structure": structure, "metadata": metadata})
        save_annotation(proposal, path, schema="annotator")
    return template


def copy_tracks(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


def document(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


class AnnotateServer:
    """The real app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, config: AnnotateConfig) -> None:
        self.config = config
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(create_app(config), host="127.0.0.1", port=self.port, log_level="error")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> AnnotateServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(self.url + "/api/session", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("edm annotate did not start")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kwargs)  # type: ignore[arg-type]
