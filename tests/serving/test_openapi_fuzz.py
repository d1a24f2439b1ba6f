"""Schemathesis against the real service's own /openapi.json: every route, property-based.

A hostile client, on loopback, with a valid API key for the routes that want one and none of
the hooks' secrets: no answer is a 5xx, every answer matches the documented schema, none
carries a traceback, and the registry (aliases, audit trail, its hash chain) is the same at
the end. Bounded: a few dozen examples per route, no shrinking of what passes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, GenerationMode
from schemathesis.core.failures import FailureGroup
from tests.serving.service_helpers import EdmService, no_tracebacks, promoted_store

from edm.registry import ModelRegistry
from edm.serving.access import hash_key

API_KEY = "fuzz-client-key-0123456789"
ALERT_TOKEN = "fuzz-alert-token"
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
    env = {
        "EDM_CACHE_DIR": str(folder / "cache"),
        "EDM_ALERT_TOKEN": ALERT_TOKEN,
        "EDM_WEBHOOK_SECRET": "a-secret-the-fuzzer-does-not-know",
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
            str(store), registry, service, (holders.production, holders.staging), registry.history()
        )
    finally:
        log = service.stop()
    no_tracebacks(log)


def fuzz(operation: APIOperation, mode: GenerationMode, headers: dict[str, str]) -> None:
    """Up to MAX_EXAMPLES requests generated for one operation, each checked by every
    Schemathesis check that applies (and ours: no traceback in any answer)."""

    @given(case=operation.as_strategy(generation_mode=mode))
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
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text, response.text

    one_request()


@pytest.mark.slow
def test_every_route_answers_as_documented(fuzzed: Fuzzed) -> None:
    api = schemathesis.openapi.from_url(f"{fuzzed.service.url}/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert {op.path for op in operations} >= ROUTES
    # A client with a key and none of the hooks' secrets; then Alertmanager itself, with its
    # token, sending whatever its schema allows.
    passes = [(op, {"X-API-Key": API_KEY}) for op in operations] + [
        (op, {"Authorization": f"Bearer {ALERT_TOKEN}"})
        for op in operations
        if op.path == "/hooks/alertmanager"
    ]
    failures = []
    for operation, headers in passes:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, headers)
            except Unsatisfiable:
                continue  # no input to break: a route without parameters or body
            except (Exception, FailureGroup) as exc:  # each route's failures, all reported
                failures.append(f"{operation.label} ({mode.value}, {list(headers)}): {exc}")
    assert not failures, "\n\n".join(failures)


@pytest.mark.slow
def test_the_registry_is_unchanged_after_the_fuzzing(fuzzed: Fuzzed, run_edm) -> None:
    holders = fuzzed.registry.stage_holders()
    assert (holders.production, holders.staging) == fuzzed.aliases
    assert fuzzed.registry.history() == fuzzed.trail
    verified = run_edm("--tracking-uri", fuzzed.store, "models", "history", "--verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr
