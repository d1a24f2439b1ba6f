"""Who is reviewing, and whether they may: loopback by default, keys off loopback.

On a loopback address the reviewer is the one named on the command line, and requests must
name a loopback host (a web page elsewhere cannot reach the annotator through DNS rebinding).
With a keys file (``edm serve``'s, :mod:`edm.api_keys`: ``name:sha256`` lines, re-read
when it changes) every API request needs a key, in ``X-API-Key``, ``Authorization: Bearer`` or
the cookie that ``POST /api/login`` sets, and the reviewer's name is the key's name: what the
client says about itself is never read. Bound off loopback, the annotator refuses to start
without a keys file (:func:`check_binding`).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from starlette.requests import Request

from edm.api_keys import KEY_HEADER, ApiKeys
from edm.errors import ConfigError

COOKIE = "edm_annotate_key"
_LOOPBACK_NAMES = ("localhost", "localhost.", "ip6-localhost")


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_binding(host: str, keys_file: Path | None) -> None:
    """ConfigError for a non-loopback address without reviewer credentials."""
    if not is_loopback(host) and keys_file is None:
        raise ConfigError(
            f"--host {host} is not a loopback address: give reviewers keys with --api-keys-file "
            "(edm api-key NAME makes one), or bind to 127.0.0.1"
        )


class Access:
    def __init__(self, reviewer: str, keys_file: Path | None, host: str) -> None:
        self.keys = ApiKeys(keys_file) if keys_file is not None else None
        self.default_reviewer = reviewer
        self.loopback_only = is_loopback(host)

    @property
    def needs_key(self) -> bool:
        return self.keys is not None

    def host_allowed(self, request: Request) -> bool:
        if not self.loopback_only:
            return True
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback(name)

    def reviewer(self, request: Request) -> str | None:
        """The reviewer making ``request``; None when a key is needed and none is valid."""
        if self.keys is None:
            return self.default_reviewer
        return self.keys.client(presented_key(request))

    def key_name(self, key: str) -> str | None:
        return self.keys.client(key) if self.keys is not None else self.default_reviewer


def presented_key(request: Request) -> str | None:
    key = request.headers.get(KEY_HEADER)
    if key:
        return key
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.cookies.get(COOKIE) or None
