"""The HTTP routes. Each error is JSON ``{"error": "..."}`` with the status the README lists."""

from __future__ import annotations

import asyncio
import random
import time
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Query
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response

from edm.errors import AudioError, ServiceError, WebhookRefusedError
from edm.serving.guard import client_of
from edm.serving.limits import LimitExceeded
from edm.serving.routing import choose_variant
from edm.serving.state import documented, error_response, read_small_body
from edm.serving.uploads import check_declared_length, receive_upload
from edm.serving.webhook import (
    DELIVERY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    concerns_model,
    verify,
)

if TYPE_CHECKING:
    from edm.serving.state import Service
    from edm.serving.uploads import Upload

router = APIRouter()

MAX_WEBHOOK_BYTES = 1024 * 1024
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
CLIENT_ERRORS = {
    401: documented(401, "--api-keys-file is set and the key is missing or unknown."),
    429: documented(429, "Over --rate-limit or --client-concurrency.", retry=True),
}
ERRORS = CLIENT_ERRORS | {
    400: documented(400, "A malformed body: bad Content-Length, multipart or chunking."),
    413: documented(413, "Upload over --max-upload-mb, or audio longer than --max-audio-seconds."),
    415: documented(415, "A body that is not audio (unsupported Content-Type)."),
    422: documented(422, "Undecodable audio, an empty body, no multipart `file`, bad ?variant."),
    503: documented(503, "No model for the variant yet, or --max-concurrency reached.", retry=True),
}


class Variant(StrEnum):
    production = "production"
    staging = "staging"


def _service(request: Request) -> Service:
    return request.app.state.service


@router.post("/predict", openapi_extra=PREDICT_BODY, responses=ERRORS)
async def predict(
    request: Request,
    variant: Variant | None = Query(None, description="Ask for this variant explicitly."),
    client: str = Depends(client_of),
) -> Response:
    """Beats, downbeats, sections (with energy) and BPM of one audio file."""
    service = _service(request)
    config = service.config
    try:
        check_declared_length(request.headers.get("content-length"), config.max_upload_bytes)
    except ServiceError as exc:
        return error_response(exc.status, str(exc), headers={"Connection": "close"})
    if service.active >= config.max_concurrency:
        return error_response(
            503,
            f"busy: {config.max_concurrency} requests in progress (--max-concurrency)",
            retry_after=1,
        )
    try:
        with service.limits.in_progress(client):
            service.active += 1
            service.metrics.in_progress.inc()
            try:
                return await _predict(request, service, variant.value if variant else None)
            finally:
                service.active -= 1
                service.metrics.in_progress.dec()
    except LimitExceeded as exc:
        return error_response(429, str(exc), retry_after=exc.retry_after_s)


async def _predict(request: Request, service: Service, requested: str | None) -> Response:
    config, slots = service.config, service.slots
    staging_model = slots.model("staging")
    chosen = choose_variant(
        requested, request.headers.get("x-client-id"), config.staging_share, bool(staging_model)
    )
    request.state.variant = chosen
    model = slots.model(chosen)
    if model is None:
        if chosen == "production":
            _, reason = slots.ready()
            message = f"no Production model to answer with: {reason}"
        else:
            message = "no Staging model to answer with: no version is in Staging, or it is loading"
        return error_response(503, message, retry_after=config.retry_after_s)
    try:
        upload = await receive_upload(
            request.stream(), request.headers.get("content-type", ""), config.max_upload_bytes
        )
    except ServiceError as exc:
        headers = {"Connection": "close"} if exc.status == 413 else None
        return error_response(exc.status, str(exc), headers=headers)
    except ClientDisconnect:
        return error_response(400, "the client went away before the body was complete")
    shadowed = False
    try:
        answer = await _analyse(service, upload, model, chosen)
        if isinstance(answer, JSONResponse):
            return answer
        body, structure = answer
        shadowed = (
            requested is None
            and chosen == "production"
            and staging_model is not None
            and config.shadow_share > 0
            and random.random() < config.shadow_share
        )
        task = BackgroundTask(service.shadow.submit, upload.path, structure) if shadowed else None
        return JSONResponse(body, headers={VERSION_HEADER: str(model.version)}, background=task)
    finally:
        if not shadowed:
            upload.discard()


async def _analyse(
    service: Service, upload: Upload, model: Any, variant: str
) -> JSONResponse | tuple[dict[str, Any], Any]:
    from edm.audio.io import read_audio_info

    config, metrics = service.config, service.metrics
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
    started = time.perf_counter()
    try:
        loop = asyncio.get_running_loop()
        analysis = await loop.run_in_executor(service.executor, model.analyzer.analyze, upload.path)
    except AudioError as exc:
        return error_response(422, f"{name} is not decodable audio: {exc.problem}")
    metrics.inference_duration.labels(variant=variant).observe(time.perf_counter() - started)
    metrics.audio_duration.observe(info.duration)
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
    """Confidence for the histogram; Production answers into the drift window."""
    from edm.monitoring.descriptors import track_descriptors

    confidence = analysis.structure.confidence
    if confidence is not None:
        service.metrics.prediction_confidence.labels(variant=variant).observe(confidence.overall)
    if variant == "production" and service.drift is not None:
        descriptors = track_descriptors(analysis.structure, analysis.audio)
        service.drift.observe(model.version, model.drift_reference, descriptors)


@router.get(
    "/drift",
    dependencies=[Depends(client_of)],
    responses=CLIENT_ERRORS | {404: documented(404, "Drift monitoring is off.")},
)
async def drift(request: Request) -> Response:
    """Production's recent requests against its version's reference, per feature: reference
    and recent summaries, PSI, KS p-value, window size and status (ok, warn, drift,
    insufficient). A version without a reference: 200 with `"reference": null`."""
    service = _service(request)
    production = service.slots.model("production")
    version = production.version if production else None
    reference = production.drift_reference if production else None
    if service.drift is None:
        return error_response(404, "drift monitoring is off")
    loop = asyncio.get_running_loop()
    document = await loop.run_in_executor(None, service.drift.report, version, reference)
    return JSONResponse(document)


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", responses={503: ERRORS[503]})
async def ready(request: Request) -> Response:
    """Readiness: 200 only once a Production model is loaded and warmed up."""
    service = _service(request)
    is_ready, reason = service.slots.ready()
    if not is_ready:
        return error_response(503, f"not ready: {reason}", retry_after=service.config.retry_after_s)
    production = service.slots.model("production")
    return JSONResponse({"status": "ready", "production_version": production.version})


@router.get("/model/info", dependencies=[Depends(client_of)], responses=CLIENT_ERRORS)
async def model_info(request: Request) -> dict[str, Any]:
    """Per variant: the version, run id, source, when it was loaded, its metrics, failures."""
    service = _service(request)
    info = service.slots.info()
    info["routing"] = {
        "staging_share": service.config.staging_share,
        "shadow_share": service.config.shadow_share,
    }
    info["shadow_last_summary"] = service.shadow.last_summary
    return info


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {"text/plain": {}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus metrics (all workers added up with --workers N)."""
    payload, content_type = _service(request).metrics.exposition()
    return Response(payload, media_type=content_type)


WEBHOOK_BODY = {
    "requestBody": {
        "required": True,
        "description": "MLflow's delivery, signed (X-MLflow-Signature over the raw body).",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "entity": {"type": "string"},
                        "action": {"type": "string"},
                        "timestamp": {"type": "string"},
                        "data": {"type": "object"},
                    },
                }
            }
        },
    },
    "parameters": [
        {"name": header, "in": "header", "required": True, "schema": {"type": "string"}}
        for header in (SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_ID_HEADER)
    ],
}


@router.post(
    "/hooks/mlflow",
    openapi_extra=WEBHOOK_BODY,
    responses={
        200: {
            "description": "Accepted; `reloading` says whether it concerned this model.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "status": {"type": "string"},
                            "reloading": {"type": "boolean"},
                        },
                        "required": ["status", "reloading"],
                    }
                }
            },
        },
        401: documented(401, "Bad or missing signature, or a delivery older than 5 minutes."),
        404: documented(404, "Webhooks are off (no EDM_WEBHOOK_SECRET)."),
        413: documented(413, "A body over 1 MB."),
    },
)
async def mlflow_webhook(request: Request) -> Response:
    """MLflow registry webhook: a signed delivery makes the service re-read the aliases now."""
    service = _service(request)
    if service.webhook_secret is None:
        return error_response(404, "webhooks are off: start the service with EDM_WEBHOOK_SECRET")
    body = await read_small_body(request, MAX_WEBHOOK_BYTES)
    if body is None:
        return error_response(413, "webhook body over 1 MB")
    try:
        payload = verify(service.webhook_secret, request.headers, body)
    except WebhookRefusedError as exc:
        return error_response(401, f"webhook refused: {exc}")
    relevant = concerns_model(payload, service.registry.model_name)
    if relevant:
        service.slots.trigger()
    return JSONResponse({"status": "accepted", "reloading": relevant})
