"""The annotator's HTTP app: the page, and a JSON API over the tracks, their audio and peaks.

Every route that takes a track takes its id (``?id=club/track_000.yaml``); an id that does not
resolve inside the folder is 404, like one that names nothing. Errors are JSON
``{"error": "..."}`` in one line. Writes need ``Content-Type: application/json`` and a body
under :data:`MAX_BODY_BYTES`; saves and restores need ``If-Match`` with the ETag read (409
with the current ETag when the file changed since). Audio files are only ever read.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.concurrency import run_in_threadpool

from edm.annotate.access import COOKIE, Access
from edm.annotate.edit import Edit
from edm.annotate.peaks import track_peaks
from edm.annotate.playable import playable_audio
from edm.annotate.proposals import Proposer
from edm.annotate.store import Conflict, NotFound, Store
from edm.annotate.tracks import STATUSES, Track, TrackIndex
from edm.data.annotator_schema import is_annotator_form
from edm.data.yaml_io import format_location, load_yaml
from edm.errors import EdmError
from edm.vocabulary import LABELS

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 256 * 1024
_OPEN_PATHS = ("/api/session", "/api/login")


@dataclass
class AnnotateConfig:
    folder: Path
    audio_dirs: tuple[Path, ...] = ()
    model: str | None = None  # REF for tracks with no annotation; None: Production
    tracking_uri: str | None = None
    reviewer: str = "reviewer"
    host: str = "127.0.0.1"
    api_keys_file: Path | None = None
    cache_dir: Path | None = None  # peaks cache; None: the feature cache's folder
    warm_peaks: bool = True


class _Restore(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str


class _Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str


class HttpError(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.extra = status, extra


def create_app(config: AnnotateConfig) -> FastAPI:
    from edm.audio.cache import default_cache_dir

    index = TrackIndex(config.folder, config.audio_dirs)
    store = Store(config.folder)
    access = Access(config.reviewer, config.api_keys_file, config.host)
    proposer = Proposer(config.model, config.tracking_uri)
    cache_dir = config.cache_dir or default_cache_dir()
    peak_locks: dict[Path, threading.Lock] = {}
    peak_guard = threading.Lock()

    app = FastAPI(title="edm annotate", docs_url=None, redoc_url=None, openapi_url=None)

    @app.exception_handler(HttpError)
    async def _http_error(request: Request, exc: HttpError) -> JSONResponse:
        return JSONResponse({"error": str(exc), **exc.extra}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0]
        where = format_location(tuple(first.get("loc", ())))
        return JSONResponse({"error": f"{where}: {first.get('msg')}"}, status_code=422)

    @app.middleware("http")
    async def _guard(request: Request, call_next: Any) -> Response:
        if not access.host_allowed(request):
            return JSONResponse({"error": "not a loopback host name"}, status_code=421)
        path = request.url.path
        if request.method in ("POST", "PUT"):
            length = request.headers.get("content-length")
            if length is None or not length.isdigit():
                return JSONResponse({"error": "a body needs Content-Length"}, status_code=411)
            if int(length) > MAX_BODY_BYTES:
                return JSONResponse(
                    {"error": f"body of {length} bytes: over {MAX_BODY_BYTES}"}, status_code=413
                )
            kind = request.headers.get("content-type", "").split(";")[0].strip()
            if kind != "application/json":
                return JSONResponse({"error": "the body must be application/json"}, 415)
        if path.startswith("/api/") and path not in _OPEN_PATHS:
            reviewer = access.reviewer(request)
            if reviewer is None:
                return JSONResponse({"error": "a reviewer key is needed"}, status_code=401)
            request.state.reviewer = reviewer
        return await call_next(request)

    def track_of(track_id: str) -> Track:
        track = index.track(track_id)
        if track is None:
            raise HttpError(404, "no such track")
        return track

    def needs_if_match(request: Request) -> None:
        if not request.headers.get("if-match"):
            raise HttpError(428, "a save needs If-Match with the ETag that was read")

    async def written(found: Track, write: Any, *args: Any) -> JSONResponse:
        """A save or a restore, off the event loop, its refusals as HTTP errors."""
        try:
            etag = await run_in_threadpool(write, *args)
        except Conflict as exc:
            raise HttpError(409, str(exc), etag=exc.current) from None
        except NotFound as exc:
            raise HttpError(404, str(exc)) from None
        except EdmError as exc:
            raise HttpError(422, str(exc)) from None
        index.forget(found.yaml)
        return JSONResponse({"etag": etag}, headers={"ETag": etag})

    async def body(request: Request, model: type[BaseModel]) -> Any:
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            raise HttpError(413, f"body over {MAX_BODY_BYTES} bytes")
        try:
            return model.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = format_location(tuple(first.get("loc", ()))) or "(body)"
            raise HttpError(422, f"{where}: {first.get('msg')}") from None

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/session")
    def session(request: Request) -> dict[str, Any]:
        return {
            "reviewer": access.reviewer(request),
            "needs_key": access.needs_key,
            "labels": list(LABELS),
            "statuses": list(STATUSES),
            "model": config.model or "Production",
            "folder": str(index.folder),
        }

    @app.post("/api/login")
    async def login(request: Request) -> JSONResponse:
        given = await body(request, _Login)
        name = access.key_name(given.key)
        if name is None:
            raise HttpError(401, "unknown key")
        response = JSONResponse({"reviewer": name})
        if access.needs_key:
            response.set_cookie(COOKIE, given.key, httponly=True, samesite="strict")
        return response

    @app.get("/api/tracks")
    def tracks() -> dict[str, Any]:
        listed = [t.summary() for t in index.tracks()]
        counts = {status: sum(t["status"] == status for t in listed) for status in STATUSES}
        return {"tracks": listed, "counts": counts}

    @app.get("/api/track")
    def track(id: str) -> Response:
        found = track_of(id)
        job = proposer.job(found.id)
        if not found.annotated:
            return JSONResponse(
                {"id": found.id, "annotated": False, "job": job.to_dict() if job else None}
            )
        if found.annotation is None:
            raise HttpError(422, found.error or "cannot be read", id=found.id)
        data, etag = store.read(found.yaml)
        document = load_yaml(data.decode("utf-8"), found.id)
        annotation = found.annotation
        metadata = annotation.metadata
        return JSONResponse(
            {
                "id": found.id,
                "annotated": True,
                "status": found.status,
                "form": "annotator" if is_annotator_form(document) else "edm",
                "audio": found.audio is not None,
                "audio_error": found.error,
                "bpm": annotation.audio.bpm,
                "downbeat": annotation.audio.downbeat,
                "beats_per_bar": annotation.audio.beats_per_bar,
                "duration": annotation.audio.duration,
                "structure": [
                    {"time": s.time, "label": s.label, "confidence": s.confidence, "bar": s.bar}
                    for s in annotation.structure
                ],
                "metadata": {
                    "tier": metadata.tier,
                    "confidence": metadata.confidence,
                    "source": metadata.source,
                    "verified_by": metadata.verified_by,
                    "proposed_by": (metadata.model_extra or {}).get("proposed_by"),
                    "notes": metadata.notes,
                    "flags": metadata.flags or [],
                },
            },
            headers={"ETag": etag},
        )

    @app.put("/api/track")
    async def save(id: str, request: Request) -> JSONResponse:
        found = track_of(id)
        edit = await body(request, Edit)
        needs_if_match(request)
        if not found.annotated:
            raise HttpError(404, "no annotation to save onto yet: open the track first")
        return await written(
            found,
            store.save_edit,
            found.yaml,
            edit,
            request.headers.get("if-match"),
            request.state.reviewer,
        )

    @app.get("/api/audio")
    def audio(id: str) -> FileResponse:
        found = track_of(id)
        if found.audio is None:
            raise HttpError(404, found.error or "no audio for this track")
        try:
            playable = playable_audio(found.audio, cache_dir)
        except EdmError as exc:
            raise HttpError(422, str(exc)) from None
        return FileResponse(playable, headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/api/peaks")
    def peaks(id: str) -> Response:
        found = track_of(id)
        if found.audio is None:
            raise HttpError(404, found.error or "no audio for this track")
        with peak_guard:
            lock = peak_locks.setdefault(found.audio.resolve(), threading.Lock())
        try:
            with lock:
                data = track_peaks(found.audio, cache_dir)
        except EdmError as exc:
            raise HttpError(422, str(exc)) from None
        return Response(data, media_type="application/json")

    @app.get("/api/history")
    def history(id: str) -> dict[str, Any]:
        found = track_of(id)
        return {"versions": [v.to_dict() for v in store.history(found.yaml)]}

    @app.get("/api/version")
    def version(id: str, version: str) -> Response:
        found = track_of(id)
        try:
            text = store.version_text(found.yaml, version)
        except NotFound as exc:
            raise HttpError(404, str(exc)) from None
        return Response(text, media_type="text/plain; charset=utf-8")

    @app.post("/api/restore")
    async def restore(id: str, request: Request) -> JSONResponse:
        found = track_of(id)
        wanted = await body(request, _Restore)
        needs_if_match(request)
        return await written(
            found, store.restore, found.yaml, wanted.version, request.headers.get("if-match")
        )

    @app.post("/api/propose")
    async def propose(id: str, request: Request) -> JSONResponse:
        found = track_of(id)
        await body(request, _Empty)
        if found.annotated:
            raise HttpError(409, "this track has an annotation already")
        if found.audio is None:
            raise HttpError(404, "no audio for this track")
        job = proposer.request(found.id, found.yaml, found.audio)
        return JSONResponse(job.to_dict(), status_code=202)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    if config.warm_peaks:
        threading.Thread(
            target=_warm, args=(index, cache_dir), name="edm-annotate-peaks", daemon=True
        ).start()
    return app


class _Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _warm(index: TrackIndex, cache_dir: Path) -> None:
    """Compute the peaks of every track in the background, queue order first."""
    for track in index.tracks():
        if track.audio is None:
            continue
        try:
            track_peaks(track.audio, cache_dir)
        except (EdmError, OSError) as exc:
            log.info("peaks of %s: %s", track.audio, exc)
