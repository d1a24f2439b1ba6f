"""MLflow registry webhooks (MLflow >= 3.3): checking that a delivery is MLflow's.

MLflow signs ``"{delivery_id}.{timestamp}.{body}"`` with HMAC-SHA256 under the webhook's
secret and sends ``X-MLflow-Signature: v1,<base64 digest>`` with ``X-MLflow-Delivery-Id`` and
``X-MLflow-Timestamp`` (Unix seconds). A delivery older than ``MAX_AGE_S`` is refused as a
replay. The body itself is only a hint: the service re-reads the aliases from the registry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from edm.errors import WebhookRefusedError

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
MAX_AGE_S = 300
RELEVANT_ENTITIES = ("model_version", "model_version_alias", "model_version_tag")


def sign(secret: str, delivery_id: str, timestamp: str, body: bytes) -> str:
    """The signature header value MLflow sends for this delivery."""
    content = f"{delivery_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), content, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> dict[str, Any]:
    """The delivery's JSON payload when its signature is good; WebhookRefusedError otherwise."""
    signature = headers.get(SIGNATURE_HEADER.lower()) or headers.get(SIGNATURE_HEADER)
    delivery_id = headers.get(DELIVERY_ID_HEADER.lower()) or headers.get(DELIVERY_ID_HEADER)
    timestamp = headers.get(TIMESTAMP_HEADER.lower()) or headers.get(TIMESTAMP_HEADER)
    if not signature or not delivery_id or not timestamp:
        raise WebhookRefusedError(
            f"missing {SIGNATURE_HEADER}, {DELIVERY_ID_HEADER} or {TIMESTAMP_HEADER} header"
        )
    try:
        age = (time.time() if now is None else now) - int(timestamp)
    except ValueError:
        raise WebhookRefusedError(f"{TIMESTAMP_HEADER} is not a Unix time") from None
    if abs(age) > MAX_AGE_S:
        raise WebhookRefusedError(f"{TIMESTAMP_HEADER} is {age:.0f} s away from now (replay?)")
    expected = sign(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRefusedError("signature does not match")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise WebhookRefusedError("body is not JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRefusedError("body is not a JSON object")
    return payload


def concerns_model(payload: Mapping[str, Any], model_name: str) -> bool:
    """Whether a delivery may have moved one of this model's aliases."""
    data = payload.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    return payload.get("entity") in RELEVANT_ENTITIES and name == model_name
