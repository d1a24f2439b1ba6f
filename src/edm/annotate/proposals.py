"""The model in the loop: a track with no annotation gets one from the model (tier 3,
``needs_review``, ``source: ml_model_<name>_v<N>``) when it is first opened.

One background thread runs the model, one track at a time, so the page stays quick while a
track is analysed; the page polls the job for its progress (windows done of total). The model
(REF, default Production) is resolved and loaded on the first job only: opening tracks that
are already annotated costs no model at all. A failure (no Production model, audio that cannot
be decoded) is the job's error, shown on that track.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edm.errors import EdmError

log = logging.getLogger(__name__)


@dataclass
class Job:
    track_id: str
    state: str = "queued"  # queued, running, done, failed
    done: int = 0
    total: int = 0
    error: str | None = None
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "error": self.error,
            "source": self.source,
        }


@dataclass
class _Model:
    analyzer: Any
    source: str
    describe: str


@dataclass
class Proposer:
    """Queues pre-annotation jobs; ``model`` is a REF as ``edm analyze --model`` takes it."""

    model: str | None
    tracking_uri: str | None = None
    device: str = "cpu"
    jobs: dict[str, Job] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._queue: queue.Queue[tuple[Job, Path, Path]] = queue.Queue()
        self._lock = threading.Lock()
        self._loaded: _Model | None = None
        self._thread: threading.Thread | None = None

    def request(self, track_id: str, yaml_path: Path, audio: Path) -> Job:
        """The track's job, queued now unless one is queued, running or done already."""
        with self._lock:
            job = self.jobs.get(track_id)
            if job is not None and job.state != "failed":
                return job
            job = Job(track_id)
            self.jobs[track_id] = job
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="edm-annotate-proposals", daemon=True
                )
                self._thread.start()
        self._queue.put((job, yaml_path, audio))
        return job

    def job(self, track_id: str) -> Job | None:
        with self._lock:
            return self.jobs.get(track_id)

    def _work(self) -> None:
        while True:
            job, yaml_path, audio = self._queue.get()
            job.state = "running"
            try:
                self._propose(job, yaml_path, audio)
                job.state = "done"
            except EdmError as exc:
                job.error, job.state = str(exc), "failed"
            except Exception as exc:  # the thread must live on for the next track
                log.exception("pre-annotating %s failed", audio)
                job.error, job.state = f"unexpected {type(exc).__name__}: {exc}", "failed"

    def _propose(self, job: Job, yaml_path: Path, audio: Path) -> None:
        from edm.data.annotations import save_annotation

        model = self._model()
        job.source = model.source

        def on_progress(done: int, total: int) -> None:
            job.done, job.total = done, total

        analysis = model.analyzer.analyze(audio, on_progress)
        now = datetime.now(UTC).replace(microsecond=0)
        relative = os.path.relpath(audio.resolve(), yaml_path.parent.resolve())
        annotation = analysis.structure.to_annotation(
            Path(relative).as_posix(),
            source=model.source,
            created=now,
            modified=now,
            notes=f"edm annotate: proposed by {model.describe}",
            flags=["needs_review"],
        )
        if yaml_path.exists():  # someone made one meanwhile: theirs wins
            return
        save_annotation(annotation, yaml_path, schema="annotator")

    def _model(self) -> _Model:
        if self._loaded is None:
            from edm.data.annotator_schema import model_source
            from edm.inference.pipeline import File2Structure
            from edm.registry.refs import resolve_model
            from edm.registry.version_cache import RegistryAddress

            def registry() -> Any:
                from edm.registry import ModelRegistry

                return ModelRegistry(tracking_uri=self.tracking_uri)

            resolved = resolve_model(
                self.model, registry, address=RegistryAddress(tracking_uri=self.tracking_uri)
            )
            analyzer = File2Structure.from_checkpoint(resolved.path, device=self.device)
            source = model_source(resolved.model_name, resolved.version, resolved.path.stem)
            self._loaded = _Model(analyzer, source, resolved.describe())
        return self._loaded
