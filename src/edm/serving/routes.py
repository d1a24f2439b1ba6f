"""The HTTP routes but ``/predict`` (in ``predict``). Each error is JSON ``{"error": "..."}``
with the status the README lists."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edm.errors import ServiceError, WebhookRefusedError
from edm.serving.guard import client_of
from edm.serving.state import CLOSE, documented, error_response, read_small_body
from edm.serving.webhook import (
    DELIVERY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    concerns_model,
    delivery_id_of,
    verify,
)

if TYPE_CHECKING:
    from edm.serving.state import Service

router = APIRouter()

MAX_WEBHOOK_BYTES = 1024 * 1024

CLIENT_ERRORS = {
    401: documented(401, "--api-keys-file is set and the key is missing or unknown."),
    429: documented(429, "Over --rate-limit or --client-concurrency.", retry=True),
}
NOT_READY = documented(
    503, "No Production model loaded yet, or the service is shutting down.", retry=True
)


def _service(request: Request) -> Service:
    return request.app.state.service


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


@router.get("/ready", responses={503: NOT_READY})
async def ready(request: Request) -> Response:
    """Readiness: 200 only once a Production model is loaded and warmed up, and until the
    service is told to stop (SIGTERM); 503 while every analysis thread is held by an analysis
    past --analysis-timeout."""
    service = _service(request)
    is_ready, reason = service.slots.ready()
    stages, threads = service.stages, service.config.inference_workers
    if stages.draining:
        is_ready, reason = False, "shutting down: finishing the requests in flight"
    elif stages.overrunning >= threads:
        is_ready = False
        reason = f"all {threads} analysis threads are held by analyses past --analysis-timeout"
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
        400: documented(
            400, "A signed body that is not a JSON object as documented, or nested too deep."
        ),
        401: documented(
            401, "Bad or missing signature or headers, or a delivery older than 5 minutes."
        ),
        409: documented(409, "A delivery id already received within 10 minutes: a replay."),
        404: documented(404, "Webhooks are off (no EDM_WEBHOOK_SECRET)."),
        413: documented(413, "A body over 1 MB."),
        408: documented(408, "The body did not arrive whole within --body-timeout."),
    },
)
async def mlflow_webhook(request: Request) -> Response:
    """MLflow registry webhook: a signed delivery makes the service re-read the aliases now."""
    service = _service(request)
    if service.webhook_secret is None:
        return error_response(404, "webhooks are off: start the service with EDM_WEBHOOK_SECRET")
    try:
        body = await read_small_body(request, MAX_WEBHOOK_BYTES, service.config.body_timeout_s)
    except ServiceError as exc:
        return error_response(exc.status, f"webhook refused: {exc}", headers=CLOSE)
    if body is None:
        return error_response(413, "webhook body over 1 MB")
    try:
        payload = verify(service.webhook_secret, request.headers, body)
    except WebhookRefusedError as exc:
        return error_response(401, f"webhook refused: {exc}")
    except ServiceError as exc:
        return error_response(exc.status, f"webhook refused: {exc}")
    if not service.deliveries.first_time(delivery_id_of(request.headers)):
        return error_response(409, "webhook refused: this delivery id was received before (replay)")
    relevant = concerns_model(payload, service.registry.model_name)
    if relevant:
        service.slots.trigger()
    return JSONResponse({"status": "accepted", "reloading": relevant})
