"""What every route shares: the running service's parts, and the JSON error body."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

from edm.errors import ServiceError
from edm.serving.limits import ClientLimits
from edm.serving.stages import Stages
from edm.serving.webhook import Deliveries

if TYPE_CHECKING:
    from starlette.requests import Request

    from edm.api_keys import ApiKeys
    from edm.monitoring.traffic import TrafficRecorder
    from edm.registry import ModelRegistry
    from edm.serving.config import ServeConfig
    from edm.serving.drift import DriftMonitor
    from edm.serving.metrics import Metrics
    from edm.serving.previous import PreviousReplays
    from edm.serving.refusals import NotificationRefusals
    from edm.serving.rollback import AutoRollback
    from edm.serving.shadow import ShadowRunner
    from edm.serving.slots import ModelSlots


@dataclass
class Service:
    """Everything a request handler needs, on ``app.state.service``."""

    config: ServeConfig
    registry: ModelRegistry
    metrics: Metrics
    slots: ModelSlots
    shadow: ShadowRunner
    webhook_secret: str | None
    executor: ThreadPoolExecutor  # where files are analysed, off the event loop
    auto_rollback: AutoRollback  # decides on Alertmanager's notifications (off by default)
    alert_token: str | None = None  # the bearer token POST /hooks/alertmanager wants, if any
    alert_token_source: str = "EDM_ALERT_TOKEN"  # where it was read: the 401 names it
    alert_refusals: NotificationRefusals | None = None  # refused notifications: counted, logged
    drift: DriftMonitor | None = None  # Production's rolling window against its reference
    previous: PreviousReplays | None = None  # Production's files replayed on the version before
    traffic: TrafficRecorder | None = None  # Production answers' descriptors, on disk
    api_keys: ApiKeys | None = None  # the clients /predict and /model/info let in; None: all
    limits: ClientLimits = field(default_factory=ClientLimits)  # per client; none by default
    active: int = 0  # analyses in progress (the --max-concurrency slots taken)
    stages: Stages = field(default_factory=Stages)  # receiving, overrunning, draining
    deliveries: Deliveries = field(default_factory=Deliveries)  # MLflow deliveries seen (409)
    started_at: float = field(default_factory=time.time)


ERROR_BODY = {
    "type": "object",
    "properties": {"error": {"type": "string"}},
    "required": ["error"],
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "string"}}}


def documented(status: int, text: str, *, retry: bool = False) -> dict[str, Any]:
    """One error answer of the contract, as OpenAPI describes it: JSON ``{"error": ...}``."""
    answer: dict[str, Any] = {
        "description": text,
        "content": {"application/json": {"schema": ERROR_BODY}},
    }
    if retry:
        answer["headers"] = RETRY_AFTER
    return answer


def error_response(
    status: int, message: str, *, retry_after: int | None = None, headers: dict | None = None
) -> JSONResponse:
    extra = dict(headers or {})
    if retry_after is not None:
        extra["Retry-After"] = str(retry_after)
    return JSONResponse({"error": message}, status_code=status, headers=extra)


CLOSE = {"Connection": "close"}  # the body was not read whole: the connection cannot go on


@asynccontextmanager
async def body_deadline(timeout_s: float) -> AsyncIterator[None]:
    """Receiving a request body within ``--body-timeout``: a ServiceError 408 when it has not
    arrived whole in time, so a client sending a byte a second holds no connection longer."""
    try:
        async with asyncio.timeout(timeout_s):
            yield
    except TimeoutError:
        raise ServiceError(
            408, f"the body did not arrive whole within {timeout_s:g} s (--body-timeout)"
        ) from None


async def read_small_body(request: Request, max_bytes: int, timeout_s: float) -> bytes | None:
    """The whole body of a small JSON delivery (a webhook, an alert), read chunk by chunk so
    that an oversized one is refused before it is held whole; None when over ``max_bytes``.
    ServiceError 408 past ``timeout_s`` (:func:`body_deadline`)."""
    body = bytearray()
    async with body_deadline(timeout_s):
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                return None
    return bytes(body)
