"""``POST /hooks/alertmanager``: Prometheus Alertmanager's webhook (its version 4 JSON).

The route is always there: with ``--auto-rollback`` off it answers 200 ``"action": "none"`` so
Alertmanager does not retry a notification that will never be acted on. ``--auto-rollback``
does not start without a token (``EDM_ALERT_TOKEN``, or the file ``EDM_ALERT_TOKEN_FILE``
names): a notification must then carry ``Authorization: Bearer <token>`` (Alertmanager's
``http_config.authorization``), compared in constant time, or gets 401 before its body is
read. Alertmanager's repeats of an alert already acted on get 200 ``already_rolled_back``; a
replay (an alert acted on before the version was promoted again) or a stale alert (older than
the version's promotion) gets 409. Every refusal (401, 400, 422, 409) is counted and logged
(``refusals``). What happens to the alerts is ``rollback``'s business.
"""

from __future__ import annotations

import hmac
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from edm.errors import ServiceError
from edm.serving.rollback import REFUSED, Alert, clean_alert_name
from edm.serving.state import CLOSE, documented, error_response, read_small_body

if TYPE_CHECKING:
    from edm.serving.state import Service

router = APIRouter()

MAX_NOTIFICATION_BYTES = 1024 * 1024
_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?$"
)


def _date_time_text(value: object) -> object:
    """Only what the schema documents, a date-time string: pydantic's lax mode would take a
    number, or a string of digits, as seconds since 1970."""
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time string, such as 2026-01-31T12:00:00Z")
    return value


DateTimeText = Annotated[datetime, BeforeValidator(_date_time_text)]


class AlertmanagerAlert(BaseModel):
    """One alert of a notification (fields edm does not read are kept, not checked)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: DateTimeText  # Alertmanager's field names
    endsAt: DateTimeText | None = None
    fingerprint: str = ""

    def to_alert(self) -> Alert:
        version = self.labels.get("version", "").strip()
        started = self.startsAt
        if started.tzinfo is None:  # Alertmanager writes UTC ("Z"); a bare time is read so too
            started = started.replace(tzinfo=UTC)
        return Alert(
            name=clean_alert_name(self.labels.get("alertname", "")),
            firing=self.status == "firing",
            degradation=self.labels.get("degradation", "").strip().lower() == "true",
            review=self.labels.get("review", "").strip().lower() == "true",
            version=int(version) if version.isdecimal() and len(version) < 10 else None,
            starts_at=started,
            fingerprint=self.fingerprint,
        )


class AlertmanagerNotification(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: Literal["4"]
    status: Literal["firing", "resolved"]
    alerts: list[AlertmanagerAlert]
    receiver: str = ""
    groupKey: str = ""


def _inlined(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema with its ``$defs`` put in place: OpenAPI resolves a ``$ref``
    from the document's root, where pydantic's ``#/$defs/...`` is not."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    text = json.dumps(schema)
    for name, definition in definitions.items():
        text = text.replace(json.dumps({"$ref": f"#/$defs/{name}"}), json.dumps(definition))
    return json.loads(text)


DECISION = {
    "type": "object",
    "properties": {
        "action": {"type": "string", "enum": ["rolled_back", "already_rolled_back", "none"]},
        "result": {"type": "string"},
        "reason": {"type": "string"},
        "alert": {"type": ["string", "null"]},
        "from_version": {"type": ["integer", "null"]},
        "to_version": {"type": ["integer", "null"]},
        "error": {"type": "string"},
    },
    "required": ["action", "result", "reason"],
}
HOOK_RESPONSES = {
    200: {
        "description": "What was done: a rollback, nothing, or nothing again for a repeat of "
        "an alert about a promotion already rolled back (already_rolled_back).",
        "content": {"application/json": {"schema": DECISION}},
    },
    400: documented(400, "A body that is not JSON, nested too deep, or over 1 MB."),
    408: documented(408, "The body did not arrive whole within --body-timeout."),
    401: documented(
        401, "The bearer token (EDM_ALERT_TOKEN or EDM_ALERT_TOKEN_FILE) is missing or wrong."
    ),
    409: {
        "description": "Refused: the alert was acted on before the version was promoted "
        "again (replay), or started before the version's promotion (stale). Nothing changed.",
        "content": {"application/json": {"schema": DECISION}},
    },
    422: documented(422, "JSON that is not an Alertmanager (version 4) notification."),
    503: {
        "description": "The registry could not be read or changed: Alertmanager retries.",
        "content": {"application/json": {"schema": DECISION}},
    },
}
NOTIFICATION_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _inlined(AlertmanagerNotification)}},
    }
}


@router.post("/hooks/alertmanager", responses=HOOK_RESPONSES, openapi_extra=NOTIFICATION_BODY)
async def alertmanager_hook(request: Request) -> Response:
    """Alertmanager's webhook: with --auto-rollback, a degradation alert firing for a version
    promoted within --rollback-window rolls the registry back to the previous version."""
    service: Service = request.app.state.service
    if service.alert_token is not None:
        problem = _unauthorized(request, service.alert_token)
        if problem is not None:
            _refused(service, request, "unauthorized", problem)
            return error_response(
                401,
                "alert refused: missing or wrong bearer token "
                f"(set in {service.alert_token_source})",
                headers={"WWW-Authenticate": "Bearer"},
            )
    try:
        body = await read_small_body(request, MAX_NOTIFICATION_BYTES, service.config.body_timeout_s)
    except ServiceError as exc:
        _refused(service, request, "malformed", str(exc))
        return error_response(exc.status, f"alert refused: {exc}", headers=CLOSE)
    if body is None:
        return _malformed(service, request, 400, "notification body over 1 MB")
    try:
        document = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _malformed(service, request, 400, "the notification is not JSON")
    except RecursionError:
        return _malformed(service, request, 400, "the notification is JSON nested too deep")
    try:
        notification = AlertmanagerNotification.model_validate(document)
    except ValidationError as exc:
        message = f"not an Alertmanager notification: {_problems(exc)}"
        return _malformed(service, request, 422, message)
    alerts = [alert.to_alert() for alert in notification.alerts]
    decision = await run_in_threadpool(service.auto_rollback.handle, alerts)
    body = decision.to_dict()
    if decision.result in REFUSED:
        body["error"] = f"replay refused: {decision.reason}"
        _refused(service, request, decision.result, decision.reason)
    return JSONResponse(body, status_code=decision.status)


def _unauthorized(request: Request, token: str) -> str | None:
    """What is wrong with the request's credentials (never the credentials); None if right."""
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    presented = credentials.strip() if scheme.lower() == "bearer" else ""
    if hmac.compare_digest(presented.encode(), token.encode()):
        return None
    if not header:
        return "no Authorization header"
    if scheme.lower() != "bearer":
        return "an Authorization header that is not a bearer token"
    return "a wrong bearer token"


def _malformed(service: Service, request: Request, status: int, message: str) -> Response:
    _refused(service, request, "malformed", message)
    return error_response(status, message)


def _refused(service: Service, request: Request, reason: str, detail: str) -> None:
    if service.alert_refusals is not None:
        client = request.client.host if request.client else "an unknown address"
        service.alert_refusals.refused(reason, client, detail)


def _problems(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(part) for part in error.get("loc", ())) or "the body"
        problems.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(problems)
