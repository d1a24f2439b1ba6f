"""Who is asking, and whether they may: the dependency of ``/predict``, ``/model/info`` and
``/drift`` (what clients use, as opposed to what probes and scrapes use).

With ``--api-keys-file`` a request needs a known key (401 otherwise) and the key's name is
the client. Without it the routes are open and the client is what it says it is
(``X-Client-Id``) or its address: enough to share the rate fairly between honest clients, no
defence against a dishonest one. Either way the client's rate limit is taken here (429 with
``Retry-After``). ``/health``, ``/ready`` and ``/metrics`` never come here: Kubernetes probes
and Prometheus scrapes carry no key.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from starlette.requests import Request

from edm.api_keys import KEY_HEADER
from edm.serving.limits import LimitExceeded

if TYPE_CHECKING:
    from edm.serving.state import Service

PROTECTED_ROUTES = ("/predict", "/model/info", "/drift")
CLIENT_ID_HEADER = "X-Client-Id"
MAX_CLIENT_ID_CHARS = 64
SECURITY_SCHEMES: dict[str, Any] = {
    "ApiKey": {"type": "apiKey", "in": "header", "name": KEY_HEADER},
    "Bearer": {"type": "http", "scheme": "bearer"},
}


async def client_of(request: Request) -> str:
    """The client making this request, once it is known to be allowed in and within its rate."""
    service: Service = request.app.state.service
    if service.api_keys is not None:
        client = service.api_keys.client(presented_key(request))
        if client is None:
            raise HTTPException(
                401,
                f"a valid API key is required: send it in {KEY_HEADER} or as "
                "'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
    else:
        client = claimed_identity(request)
    try:
        service.limits.take(client)
    except LimitExceeded as exc:
        raise HTTPException(
            429, str(exc), headers={"Retry-After": str(exc.retry_after_s)}
        ) from None
    return client


def presented_key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER.lower())
    if key:
        return key.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    return credentials.strip() or None if scheme.lower() == "bearer" else None


def claimed_identity(request: Request) -> str:
    """``X-Client-Id`` (printable, shortened: it is echoed in errors), else the address."""
    claimed = request.headers.get(CLIENT_ID_HEADER.lower(), "")
    cleaned = "".join(c for c in claimed if c.isprintable()).strip()[:MAX_CLIENT_ID_CHARS]
    if cleaned:
        return cleaned
    return request.client.host if request.client else "unknown"
