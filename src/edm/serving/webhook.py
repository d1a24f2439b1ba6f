"""MLflow registry webhooks (MLflow >= 3.3): checking that a delivery is MLflow's.

MLflow signs ``"{delivery_id}.{timestamp}.{body}"`` with HMAC-SHA256 under the webhook's
secret and sends ``X-MLflow-Signature: v1,<base64 digest>`` with ``X-MLflow-Delivery-Id`` and
``X-MLflow-Timestamp`` (Unix seconds). A delivery older than ``MAX_AGE_S`` is refused as a
replay, and so is a delivery id seen within that window (``Deliveries``: 409, per worker).
Everything about the headers is checked before the signature and answered 401 in one line (a
timestamp of hundreds of digits included); a signed body that is not a JSON object, or is
nested past what the parser takes, is 400 (``ServiceError``). The body itself is only a hint:
the service re-reads the aliases from the registry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from edm.errors import ServiceError, WebhookRefusedError

SIGNATURE_HEADER = "X-MLflow-Signature"
TIMESTAMP_HEADER = "X-MLflow-Timestamp"
DELIVERY_ID_HEADER = "X-MLflow-Delivery-Id"
SIGNATURE_VERSION = "v1"
MAX_AGE_S = 300
RELEVANT_ENTITIES = ("model_version", "model_version_alias", "model_version_tag")
MAX_DELIVERY_ID_CHARS = 200
# The payload's fields as MLflow sends them (and the OpenAPI document says): name, type.
FIELDS = (
    ("entity", str, "a string"),
    ("action", str, "a string"),
    ("timestamp", str, "a string"),
    ("data", dict, "an object"),
)
_UNIX_TIME = re.compile(r"^\s*-?[0-9]{1,12}\s*$")  # a Unix time in seconds; no 300-digit ones


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
    if len(delivery_id) > MAX_DELIVERY_ID_CHARS:
        raise WebhookRefusedError(
            f"{DELIVERY_ID_HEADER} is over {MAX_DELIVERY_ID_CHARS} characters"
        )
    if not _UNIX_TIME.match(timestamp):
        raise WebhookRefusedError(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    age = (time.time() if now is None else now) - int(timestamp)
    if abs(age) > MAX_AGE_S:
        raise WebhookRefusedError(f"{TIMESTAMP_HEADER} is {age:.0f} s away from now (replay?)")
    expected = sign(secret, delivery_id, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise WebhookRefusedError("signature does not match")
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ServiceError(400, "the delivery's body is not JSON") from None
    except RecursionError:
        raise ServiceError(400, "the delivery's body is JSON nested too deep") from None
    if not isinstance(payload, dict):
        raise ServiceError(400, "the delivery's body is not a JSON object")
    for name, kind, what in FIELDS:
        if name in payload and not isinstance(payload[name], kind):
            raise ServiceError(400, f"the delivery's '{name}' is not {what}")
    return payload


class Deliveries:
    """The delivery ids accepted within the last ``window_s`` (twice ``MAX_AGE_S``: a
    timestamp may be that far ahead of now too): a delivery signed right but seen before is a
    replay. Only signed deliveries are
    remembered, so only the secret's holder can fill it; it forgets what the window has
    passed. Per worker: with ``--workers N`` a replay may reach another worker once."""

    def __init__(
        self, window_s: float = 2 * MAX_AGE_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()  # id -> when, oldest first

    def first_time(self, delivery_id: str) -> bool:
        """Remember ``delivery_id``; False when it was seen within the window."""
        now = self.clock()
        with self._lock:
            while self._seen and now - next(iter(self._seen.values())) > self.window_s:
                self._seen.popitem(last=False)
            if delivery_id in self._seen:
                return False
            self._seen[delivery_id] = now
            return True


def delivery_id_of(headers: Mapping[str, str]) -> str:
    return headers.get(DELIVERY_ID_HEADER.lower()) or headers.get(DELIVERY_ID_HEADER) or ""


def concerns_model(payload: Mapping[str, Any], model_name: str) -> bool:
    """Whether a delivery may have moved one of this model's aliases."""
    data = payload.get("data")
    name = data.get("name") if isinstance(data, dict) else None
    return payload.get("entity") in RELEVANT_ENTITIES and name == model_name
