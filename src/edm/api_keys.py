"""Client API keys: ``edm serve --api-keys-file`` (``/predict``, ``/model/info``) and the
reviewers of ``edm annotate``. Apart from both, so that neither shell imports the other.

The file holds no key, only its SHA-256, one client a line::

    # name:sha256 of the key (edm api-key NAME prints a new key and its line)
    studio-a:3f0c...e1
    batch-jobs:9b2d...07

A key is a long random string (``new_key``), so one unsalted SHA-256 is enough: there is no
password to guess from the hash. A request presents the key in ``X-API-Key`` or as
``Authorization: Bearer <key>``; the name of the line it matches is the client's identity
(for the per-client limits). The file is read again when its modification time or size
changes, so keys are added, rotated and revoked without a restart; a file that turns
unreadable or malformed keeps the last good keys (and says so in the log) rather than lock
every client out, or let every client in.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from pathlib import Path

from edm.errors import ConfigError

log = logging.getLogger(__name__)

KEY_HEADER = "X-API-Key"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_HASH = re.compile(r"^[0-9a-f]{64}$")


def new_key() -> str:
    """A fresh client key: 256 random bits, URL-safe."""
    return "edm_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """What the keys file stores for ``key``."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_line(name: str, key: str) -> str:
    """The keys-file line for client ``name`` holding ``key``."""
    if not _NAME.match(name):
        raise ConfigError(
            f"client name '{name}' must be 1-64 letters, digits, '.', '_', '@' or '-'"
        )
    return f"{name}:{hash_key(key)}"


def parse_keys(text: str, source: str) -> dict[str, str]:
    """hash -> client name, from the text of a keys file; ConfigError names the bad line."""
    clients: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, digest = line.partition(":")
        name, digest = name.strip(), digest.strip().lower()
        if not _NAME.match(name) or not _HASH.match(digest):
            raise ConfigError(
                f"{source} line {number}: expected 'name:sha256hex' "
                "(a name of letters, digits, '.', '_', '@', '-', and 64 hex digits)"
            )
        if digest in clients:
            raise ConfigError(f"{source} line {number}: the same key hash as '{clients[digest]}'")
        clients[digest] = name
    return clients


class ApiKeys:
    """The clients allowed in, from a keys file that is re-read when it changes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._unreadable: str | None = None  # the problem last logged while it cannot be read
        self._clients = self._read()  # a bad file at start is the operator's to fix: raise

    def __len__(self) -> int:
        return len(self._current())

    def client(self, presented: str | None) -> str | None:
        """The name of the client whose key this is; None for no key or an unknown one."""
        if not presented:
            return None
        clients = self._current()
        digest = hash_key(presented)
        found = None
        # Every entry is compared, in constant time each: how long it takes says nothing of
        # which hash a guess came close to.
        for known, name in clients.items():
            if hmac.compare_digest(known, digest):
                found = name
        return found

    def _current(self) -> dict[str, str]:
        try:
            stamp = self._stat()
        except OSError as exc:
            problem = exc.strerror or str(exc)
            with self._lock:  # said once per change (missing, then unreadable...), not per request
                if problem == self._unreadable:
                    return self._clients
                self._unreadable, self._stamp = problem, None
            log.error(
                "API keys file %s cannot be read (%s): keeping the last keys", self.path, problem
            )
            return self._clients
        self._unreadable = None
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    try:
                        self._clients = self._read()
                        log.info(
                            "API keys file %s read: %d client(s)", self.path, len(self._clients)
                        )
                    except ConfigError as exc:
                        self._stamp = stamp  # say it once per change, not once per request
                        log.error("%s: keeping the last keys", exc)
        return self._clients

    def _stat(self) -> tuple[int, int]:
        status = os.stat(self.path)
        return status.st_mtime_ns, status.st_size

    def _read(self) -> dict[str, str]:
        try:
            stamp = self._stat()
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"API keys file {self.path} cannot be read: {exc}") from None
        clients = parse_keys(text, f"API keys file {self.path}")
        self._stamp = stamp
        return clients
