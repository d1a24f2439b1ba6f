"""Schemathesis against the real service's own /openapi.json: every route, property-based.

A hostile client, on loopback, with a valid API key for the routes that want one and none of
the hooks' secrets; then the hooks' own callers, authenticated by Schemathesis auth providers
(MLflow: each body signed with HMAC under the webhook secret, a fresh delivery id and the
time; Alertmanager: its bearer token), so the generated bodies get past the 401 to the parsers.
No answer is a 5xx, every answer matches the documented schema, none carries a traceback, no
upload is left in the service's temporary folder, and the registry (aliases, audit trail, its
hash chain) is the same at the end. Bounded: a few dozen examples per route, no shrinking.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.auths import AuthContext, AuthStorage
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.transport.serialization import Binary
from tests.serving.service_helpers import EdmService, no_tracebacks, promoted_store

from edm.api_keys import hash_key
from edm.registry import ModelRegistry
from edm.serving.webhook import DELIVERY_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

API_KEY = "fuzz-client-key-0123456789"
ALERT_TOKEN = "fuzz-alert-token"
WEBHOOK_SECRET = "fuzz-webhook-secret"
# Per route and mode; EDM_FUZZ_EXAMPLES=500 digs deeper by hand (CI keeps it short).
MAX_EXAMPLES = int(os.environ.get("EDM_FUZZ_EXAMPLES", "25"))
ROUTES = {
    "/predict",
    "/health",
    "/ready",
    "/model/info",
    "/metrics",
    "/drift",
    "/hooks/mlflow",
    "/hooks/alertmanager",
}
# A schema cannot say "decodable audio": random bytes the schema allows are rightly refused.
EXCLUDED = {"/predict": [schemathesis.checks.positive_data_acceptance]}


@dataclass
class Fuzzed:
    store: str
    registry: ModelRegistry
    service: EdmService
    aliases: tuple[int | None, int | None]
    trail: list
    spool: Path  # the service's TMPDIR, where /predict spools uploads

    def uploads(self) -> list[str]:
        return sorted(path.name for path in self.spool.glob("edm-upload-*"))


def body_bytes(case: schemathesis.Case) -> bytes:
    """The exact bytes a JSON body goes out as: what Schemathesis's requests transport sends
    (``json=`` serialised by requests with ``json.dumps(allow_nan=False)``, bytes as they are,
    ``None`` as ``null``). The case is left as generated: a replaced body would count as a
    mutated one."""
    body = case.body
    if body is NOT_SET:
        return b""
    if isinstance(body, bytes):
        return body
    if body is None:
        return b"null"
    if isinstance(body, Binary):
        body = str(body)
    return json.dumps(body, allow_nan=False).encode("utf-8")


class MlflowSignature:
    """MLflow's webhook signing (see edm.serving.webhook): HMAC-SHA256 under the secret over
    ``"{delivery_id}.{timestamp}." + body``; every case a fresh delivery id, so none is a
    replay."""

    def get(self, case: schemathesis.Case, ctx: AuthContext) -> str:
        return WEBHOOK_SECRET

    def set(self, case: schemathesis.Case, data: str, ctx: AuthContext) -> None:
        delivery, timestamp = uuid.uuid4().hex, str(int(time.time()))
        case.headers = dict(case.headers or {}) | {
            SIGNATURE_HEADER: sign(data, delivery, timestamp, body_bytes(case)),
            DELIVERY_ID_HEADER: delivery,
            TIMESTAMP_HEADER: timestamp,
        }


class AlertmanagerBearer:
    """Alertmanager's ``http_config.authorization``: the bearer token on every notification."""

    def get(self, case: schemathesis.Case, ctx: AuthContext) -> str:
        return ALERT_TOKEN

    def set(self, case: schemathesis.Case, data: str, ctx: AuthContext) -> None:
        case.headers = dict(case.headers or {}) | {"Authorization": f"Bearer {data}"}


def authenticated(provider: type) -> AuthStorage:
    storage: AuthStorage = AuthStorage()
    storage.auth(refresh_interval=None)(provider)
    return storage


SIGNED_HEADERS = (SIGNATURE_HEADER, DELIVERY_ID_HEADER, TIMESTAMP_HEADER)
# The hooks' own callers: each with its credentials, made by an auth provider.
CALLERS = {"/hooks/mlflow": MlflowSignature, "/hooks/alertmanager": AlertmanagerBearer}


@pytest.fixture(scope="module")
def fuzzed(
    tmp_path_factory: pytest.TempPathFactory, _migrated_empty_store: Path
) -> Iterator[Fuzzed]:
    """v1 then v2 in Production, v3 in Staging (so a rollback would have somewhere to go), and
    the service with every door it has: API keys, auto-rollback with a token, webhooks."""
    folder = tmp_path_factory.mktemp("fuzz")
    store, registry = promoted_store(
        folder,
        _migrated_empty_store,
        [("Production", "first"), ("Production", "better"), ("Staging", "candidate")],
    )
    keys = folder / "api-keys"
    keys.write_text(f"fuzzer:{hash_key(API_KEY)}\n")
    spool = folder / "spool"
    spool.mkdir()
    env = {
        "EDM_CACHE_DIR": str(folder / "cache"),
        "EDM_ALERT_TOKEN": ALERT_TOKEN,
        "EDM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TMPDIR": str(spool),
    }
    # The window is one second: by the time the fuzzing starts, no alert can roll back, even
    # one the generator happened to make just right with the token.
    service = EdmService(
        str(store), folder, "--poll-interval", "600", "--auto-rollback", "--rollback-window", "1s",
        "--api-keys-file", str(keys), "--max-upload-mb", "1", env=env, api_key=API_KEY,
    )  # fmt: skip
    try:
        service.wait_started()
        service.wait_for(lambda: service.serving("production") == 2, 90, "version 2")
        holders = registry.stage_holders()
        yield Fuzzed(
            str(store),
            registry,
            service,
            (holders.production, holders.staging),
            registry.history(),
            spool,
        )
    finally:
        log = service.stop()
    no_tracebacks(log)


def fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    headers: dict[str, str],
    auth: AuthStorage | None = None,
    reached: list[int] | None = None,
) -> None:
    """Up to MAX_EXAMPLES requests generated for one operation, each checked by every
    Schemathesis check that applies (and ours: no traceback in any answer). ``reached``
    collects the statuses answered."""

    # The headers a provider writes are fixed, not generated: a negative case is then negative
    # in what the provider leaves alone, and the check that it is refused still holds.
    fixed = dict.fromkeys(SIGNED_HEADERS, "set by the provider") if auth is not None else None
    if operation.path != "/hooks/mlflow":
        fixed = None

    @given(case=operation.as_strategy(generation_mode=mode, auth_storage=auth, headers=fixed))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is shown as found
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    def one_request(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            headers=headers, timeout=60, excluded_checks=EXCLUDED.get(operation.path)
        )
        if reached is not None:
            reached.append(response.status_code)
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text, response.text

    one_request()


@pytest.mark.slow
def test_every_route_answers_as_documented(fuzzed: Fuzzed) -> None:
    api = schemathesis.openapi.from_url(f"{fuzzed.service.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= ROUTES
    # A client with a key and none of the hooks' secrets; then each hook's own caller, with
    # its credentials, sending whatever the hook's schema allows (and does not).
    passes = [(op, {"X-API-Key": API_KEY}, None) for op in operations] + [
        (op, {}, authenticated(CALLERS[op.path])) for op in operations if op.path in CALLERS
    ]
    failures = []
    reached: dict[str, list[int]] = {path: [] for path in CALLERS}
    for operation, headers, auth in passes:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            statuses = reached[operation.path] if auth is not None else None
            try:
                fuzz(operation, mode, headers, auth, statuses)
            except Unsatisfiable:
                continue  # no input to break: a route without parameters or body
            except (Exception, FailureGroup) as exc:  # each route's failures, all reported
                who = "authenticated" if auth is not None else list(headers)
                failures.append(f"{operation.label} ({mode.value}, {who}): {exc}")
    assert not failures, "\n\n".join(failures)
    # With credentials the bodies reach the parsers: accepted, or refused for what they are.
    for path, statuses in reached.items():
        assert 401 not in statuses, (path, statuses)
        assert {200, 400, 422} & set(statuses), (path, statuses)


@pytest.mark.slow
def test_no_upload_is_left_after_the_fuzzing(fuzzed: Fuzzed) -> None:
    """Every /predict the fuzzer made was refused one way or another: none left a file."""
    fuzzed.service.wait_for(lambda: not fuzzed.uploads(), 10, "no upload left")


@pytest.mark.slow
def test_the_registry_is_unchanged_after_the_fuzzing(fuzzed: Fuzzed, run_edm) -> None:
    holders = fuzzed.registry.stage_holders()
    assert (holders.production, holders.staging) == fuzzed.aliases
    assert fuzzed.registry.history() == fuzzed.trail
    verified = run_edm("--tracking-uri", fuzzed.store, "models", "history", "--verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
