"""``POST /predict``: receive the body, check it, then analyse it in a slot (see ``stages``).

Each stage is bounded on its own: ``--max-receiving`` bodies at once within
``--body-timeout`` (408), ``--max-concurrency`` analyses within ``--analysis-timeout`` (504).
A request takes an analysis slot only once its body is whole and checked, so a client that
sends slowly, or stops, never holds one.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import shutil
import time
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query
from starlette.background import BackgroundTasks
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from edm.errors import AudioError, ServiceError
from edm.serving.guard import client_of
from edm.serving.limits import LimitExceeded
from edm.serving.routes import CLIENT_ERRORS
from edm.serving.routing import choose_variant
from edm.serving.state import CLOSE, body_deadline, documented, error_response
from edm.serving.uploads import check_declared_length, receive_upload

if TYPE_CHECKING:
    from edm.serving.state import Service
    from edm.serving.uploads import Upload

log = logging.getLogger(__name__)
router = APIRouter()

VERSION_HEADER = "X-EDM-Model-Version"

PREDICT_BODY = {
    "requestBody": {
        "required": True,
        "description": "The audio file (WAV, FLAC, OGG or MP3): a multipart field `file`, or "
        "the raw body with Content-Type audio/* or application/octet-stream.",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
            "audio/*": {"schema": {"type": "string", "format": "binary"}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
ERRORS = CLIENT_ERRORS | {
    400: documented(400, "A malformed body: bad Content-Length, multipart or chunking."),
    408: documented(408, "The body did not arrive whole within --body-timeout."),
    413: documented(413, "Upload over --max-upload-mb, or audio longer than --max-audio-seconds."),
    415: documented(415, "A body that is not audio (unsupported Content-Type)."),
    422: documented(422, "Undecodable audio, an empty body, no multipart `file`, bad ?variant."),
    503: documented(
        503,
        "No model for the variant yet, --max-receiving bodies being received, or "
        "--max-concurrency analyses in progress.",
        retry=True,
    ),
    504: documented(504, "The analysis took longer than --analysis-timeout."),
}


class Variant(StrEnum):
    production = "production"
    staging = "staging"


@router.post("/predict", openapi_extra=PREDICT_BODY, responses=ERRORS)
async def predict(
    request: Request,
    variant: Variant | None = Query(None, description="Ask for this variant explicitly."),
    client: str = Depends(client_of),
) -> Response:
    """Beats, downbeats, sections (with energy) and BPM of one audio file."""
    service: Service = request.app.state.service
    config, slots = service.config, service.slots
    try:
        check_declared_length(request.headers.get("content-length"), config.max_upload_bytes)
    except ServiceError as exc:
        return error_response(exc.status, str(exc), headers=CLOSE)
    requested = variant.value if variant else None
    has_staging = slots.model("staging") is not None
    chosen = choose_variant(
        requested, request.headers.get("x-client-id"), config.staging_share, has_staging
    )
    request.state.variant = chosen
    if slots.model(chosen) is None:  # refused before a byte of the body is read
        return _no_model(service, chosen)
    upload = await _receive(request, service)
    if isinstance(upload, Response):
        return upload
    shadowed = False
    try:
        seconds = _check(service, upload)
        if isinstance(seconds, Response):
            return seconds
        # The model is taken now, once the body is here, and the request finishes on it.
        model, staging_model = slots.model(chosen), slots.model("staging")
        if model is None:
            return _no_model(service, chosen)
        answer = await _in_a_slot(service, client, upload, model, chosen)
        if isinstance(answer, Response):
            return answer
        service.metrics.audio_duration.observe(seconds)
        body, structure = answer
        shadowed = (
            requested is None
            and chosen == "production"
            and staging_model is not None
            and config.shadow_share > 0
            and random.random() < config.shadow_share
        )
        tasks = BackgroundTasks()
        if requested is None and chosen == "production":
            _replay_on_previous(service, upload.path, tasks)
        if shadowed:
            tasks.add_task(service.shadow.submit, upload.path, structure)
        return JSONResponse(body, headers={VERSION_HEADER: str(model.version)}, background=tasks)
    finally:
        if not shadowed:
            upload.discard()


def _replay_on_previous(service: Service, path: Path, tasks: BackgroundTasks) -> None:
    """A share of Production's files go to the previous version too (``previous``), as a
    hard link of their own (the upload's file is discarded or shadowed)."""
    share = service.config.compare_previous_share
    if service.previous is None or not service.previous.ready or share <= 0:
        return
    if share < 1 and random.random() >= share:
        return
    copy = path.with_name(f"{path.name}.previous")
    try:
        os.link(path, copy)
    except OSError:
        try:
            shutil.copyfile(path, copy)
        except OSError as exc:
            log.warning("no replay on the previous version: %s", exc)
            return
    tasks.add_task(service.previous.submit, copy)


def _no_model(service: Service, chosen: str) -> Response:
    if chosen == "production":
        _, reason = service.slots.ready()
        message = f"no Production model to answer with: {reason}"
    else:
        message = "no Staging model to answer with: no version is in Staging, or it is loading"
    return error_response(503, message, retry_after=service.config.retry_after_s, headers=CLOSE)


async def _receive(request: Request, service: Service) -> Upload | Response:
    """The body into a temporary file: stage 1, bounded in count and in time."""
    config, stages, metrics = service.config, service.stages, service.metrics
    if stages.receiving >= config.max_receiving:
        return error_response(
            503,
            f"busy: {config.max_receiving} uploads being received (--max-receiving)",
            retry_after=1,
            headers=CLOSE,
        )
    stages.receiving += 1
    metrics.receiving.inc()
    try:
        async with body_deadline(config.body_timeout_s):
            return await receive_upload(
                request.stream(), request.headers.get("content-type", ""), config.max_upload_bytes
            )
    except ServiceError as exc:  # 408 or 413: the body was not read whole
        closing = CLOSE if exc.status in (408, 413) else None
        return error_response(exc.status, str(exc), headers=closing)
    except ClientDisconnect:
        return error_response(400, "the client went away before the body was complete")
    finally:
        stages.receiving -= 1
        metrics.receiving.dec()


def _check(service: Service, upload: Upload) -> Response | float:
    """Stage 2: decodable audio, not too long; its seconds when it may be analysed."""
    from edm.audio.io import read_audio_info

    config = service.config
    name = upload.filename or "the body"
    try:
        info = read_audio_info(upload.path)
    except AudioError as exc:
        return error_response(422, f"{name} is not decodable audio: {exc.problem}")
    if info.duration > config.max_audio_seconds:
        return error_response(
            413,
            f"{name} is {info.duration:.1f} s long: the limit is {config.max_audio_seconds:g} s "
            "(--max-audio-seconds)",
        )
    return info.duration


async def _in_a_slot(
    service: Service, client: str, upload: Upload, model: Any, variant: str
) -> Response | tuple[dict[str, Any], Any]:
    """Stage 3: one of the worker's analysis slots and one of the client's, freed always."""
    config = service.config
    if service.active >= config.max_concurrency:
        return error_response(
            503,
            f"busy: {config.max_concurrency} analyses in progress (--max-concurrency)",
            retry_after=1,
        )
    try:
        with service.limits.in_progress(client):
            service.active += 1
            service.metrics.in_progress.inc()
            try:
                return await _analyse(service, upload, model, variant)
            finally:
                service.active -= 1
                service.metrics.in_progress.dec()
    except LimitExceeded as exc:
        return error_response(429, str(exc), retry_after=exc.retry_after_s)


async def _analyse(
    service: Service, upload: Upload, model: Any, variant: str
) -> Response | tuple[dict[str, Any], Any]:
    config, metrics = service.config, service.metrics
    name = upload.filename or "the body"
    started = time.perf_counter()
    future = service.executor.submit(model.analyzer.analyze, upload.path)
    try:
        analysis = await asyncio.wait_for(asyncio.wrap_future(future), config.analysis_timeout_s)
    except TimeoutError:
        if service.stages.overran(future, metrics.analyses_overrunning):
            log.warning(
                "an analysis passed --analysis-timeout (%g s) and was answered 504; its thread "
                "runs on until it returns (%d such now)",
                config.analysis_timeout_s,
                service.stages.overrunning,
            )
        return error_response(
            504,
            f"the analysis of {name} took longer than {config.analysis_timeout_s:g} s "
            "(--analysis-timeout)",
        )
    except AudioError as exc:
        return error_response(422, f"{name} is not decodable audio: {exc.problem}")
    except Exception:
        metrics.analyses.labels(variant=variant, result="error").inc()
        raise
    metrics.analyses.labels(variant=variant, result="ok").inc()
    metrics.inference_duration.labels(variant=variant).observe(time.perf_counter() - started)
    _watch(service, model, variant, analysis)
    body = analysis.structure.to_dict() | {
        "model": {
            "name": service.registry.model_name,
            "version": model.version,
            "variant": variant,
        }
    }
    return body, analysis.structure


def _watch(service: Service, model: Any, variant: str, analysis: Any) -> None:
    """Confidence for the histogram; Production answers into the drift window and the
    recorded traffic (--record-traffic)."""
    from edm.monitoring.descriptors import track_descriptors

    confidence = analysis.structure.confidence
    if confidence is not None:
        service.metrics.prediction_confidence.labels(variant=variant).observe(confidence.overall)
    if variant != "production" or (service.drift is None and service.traffic is None):
        return
    descriptors = track_descriptors(analysis.structure, analysis.audio)
    if service.drift is not None:
        service.drift.observe(model.version, model.drift_reference, descriptors)
    if service.traffic is not None:
        try:
            service.traffic.record(model.version, descriptors)
        except OSError as exc:  # a full disk must not fail the answer
            log.warning("recording the traffic failed: %s", exc)
