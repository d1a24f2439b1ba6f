"""``POST /hooks/alertmanager``: Prometheus Alertmanager's webhook (its version 4 JSON).

The route is always there: with ``--auto-rollback`` off it answers 200 ``"action": "none"`` so
Alertmanager does not retry a notification that will never be acted on. With
``EDM_ALERT_TOKEN`` set, a notification must carry ``Authorization: Bearer <token>``
(Alertmanager's ``http_config.authorization.credentials``); the token is compared in constant
time. What happens to the alerts is ``rollback``'s business.
"""

from __future__ import annotations

import hmac
import json
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edm.serving.config import ENV_ALERT_TOKEN
from edm.serving.rollback import Alert, clean_alert_name
from edm.serving.state import error_response, read_small_body

if TYPE_CHECKING:
    from edm.serving.state import Service

router = APIRouter()

MAX_NOTIFICATION_BYTES = 1024 * 1024


class AlertmanagerAlert(BaseModel):
    """One alert of a notification (fields edm does not read are kept, not checked)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime  # Alertmanager's field names
    endsAt: datetime | None = None
    fingerprint: str = ""

    def to_alert(self) -> Alert:
        version = self.labels.get("version", "").strip()
        return Alert(
            name=clean_alert_name(self.labels.get("alertname", "")),
            firing=self.status == "firing",
            degradation=self.labels.get("degradation", "").strip().lower() == "true",
            version=int(version) if version.isdecimal() else None,
            starts_at=self.startsAt,
        )


class AlertmanagerNotification(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    alerts: list[AlertmanagerAlert]
    receiver: str = ""
    groupKey: str = ""


HOOK_RESPONSES = {
    400: {"description": "A body that is not JSON, or over 1 MB."},
    401: {"description": "EDM_ALERT_TOKEN is set and the bearer token is missing or wrong."},
    422: {"description": "JSON that is not an Alertmanager (version 4) notification."},
    503: {"description": "The registry could not be read or changed: Alertmanager retries."},
}


@router.post("/hooks/alertmanager", responses=HOOK_RESPONSES)
async def alertmanager_hook(request: Request) -> Response:
    """Alertmanager's webhook: with --auto-rollback, a degradation alert firing for a version
    promoted within --rollback-window rolls the registry back to the previous version."""
    service: Service = request.app.state.service
    if service.alert_token is not None and not _authorized(request, service.alert_token):
        return error_response(
            401,
            f"alert refused: missing or wrong bearer token (set in {ENV_ALERT_TOKEN})",
            headers={"WWW-Authenticate": "Bearer"},
        )
    body = await read_small_body(request, MAX_NOTIFICATION_BYTES)
    if body is None:
        return error_response(400, "notification body over 1 MB")
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return error_response(400, "the notification is not JSON")
    try:
        notification = AlertmanagerNotification.model_validate(document)
    except ValidationError as exc:
        return error_response(422, f"not an Alertmanager notification: {_problems(exc)}")
    alerts = [alert.to_alert() for alert in notification.alerts]
    decision = await run_in_threadpool(service.auto_rollback.handle, alerts)
    status = 503 if decision.result == "failed" else 200
    return JSONResponse(decision.to_dict(), status_code=status)


def _authorized(request: Request, token: str) -> bool:
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    presented = credentials.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(presented.encode(), token.encode())


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "the body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)
