"""Client keys and per-client limits: the keys file (hashes only, re-read when it changes), the
limits on a set clock, `edm api-key`, and the real service: what is open, what needs a key,
a rotation without a restart, and 429 + Retry-After for one client only."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks

from edm.api_keys import ApiKeys, hash_key, key_line, parse_keys
from edm.errors import ConfigError
from edm.serving.limits import ClientLimits, LimitExceeded

KEY_A = "edm_key-of-studio-a-0123456789"
KEY_B = "edm_key-of-studio-a-after-rotation"
KEY_C = "edm_key-of-a-busy-batch-client"


def write_keys(path: Path, **clients: str) -> None:
    lines = ["# name:sha256 of the key"] + [key_line(name, key) for name, key in clients.items()]
    path.write_text("\n".join(lines) + "\n")


def test_the_keys_file_holds_hashes_and_names_the_bad_line(tmp_path: Path) -> None:
    text = f"# comment\n\nstudio-a:{hash_key(KEY_A)}\nbatch.jobs:{hash_key(KEY_C).upper()}\n"
    assert parse_keys(text, "keys") == {hash_key(KEY_A): "studio-a", hash_key(KEY_C): "batch.jobs"}
    rotating = f"studio-a:{hash_key(KEY_A)}\nstudio-a:{hash_key(KEY_B)}\n"  # old and new key
    assert set(parse_keys(rotating, "keys").values()) == {"studio-a"}
    for bad, words in (
        (f"studio-a {hash_key(KEY_A)}", "line 1: expected 'name:sha256hex'"),
        ("studio-a:abc", "line 1: expected"),
        (f"ok:{hash_key(KEY_A)}\nbad name:{hash_key(KEY_C)}", "line 2: expected"),
        (f"a:{hash_key(KEY_A)}\nb:{hash_key(KEY_A)}", "line 2: the same key hash as 'a'"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_keys(bad, "keys")
    with pytest.raises(ConfigError, match="cannot be read"):
        ApiKeys(tmp_path / "missing")


def test_keys_are_re_read_when_the_file_changes_and_a_bad_edit_keeps_the_last(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys"
    write_keys(path, **{"studio-a": KEY_A})
    keys = ApiKeys(path)
    assert keys.client(KEY_A) == "studio-a"
    assert keys.client(KEY_B) is None and keys.client("") is None and keys.client(None) is None

    write_keys(path, **{"studio-a": KEY_B, "batch": KEY_C})
    assert keys.client(KEY_A) is None
    assert (keys.client(KEY_B), keys.client(KEY_C)) == ("studio-a", "batch")

    path.write_text("half-written line without a hash\n")
    assert keys.client(KEY_B) == "studio-a"  # neither everyone out, nor everyone in
    path.unlink()
    assert keys.client(KEY_C) == "batch"
    path.write_text("")
    assert keys.client(KEY_B) is None and len(keys) == 0  # an empty file revokes every key


def test_the_rate_limit_is_per_client_and_says_when_to_come_back() -> None:
    now = {"t": 1000.0}
    limits = ClientLimits(per_minute=2, clock=lambda: now["t"])
    limits.take("a")
    limits.take("a")
    with pytest.raises(LimitExceeded, match="over 2 requests per minute") as over:
        limits.take("a")
    assert over.value.retry_after_s == 30
    limits.take("b")  # another client is not held back by a's flood
    now["t"] += 30
    limits.take("a")
    ClientLimits().take("a")  # 0: no limit


def test_predictions_in_progress_are_limited_per_client() -> None:
    limits = ClientLimits(concurrency=1)
    with limits.in_progress("a"):
        with (
            pytest.raises(LimitExceeded, match="already has 1 prediction") as busy,
            limits.in_progress("a"),
        ):
            pass
        assert busy.value.retry_after_s == 1
        with limits.in_progress("b"):
            pass
    with limits.in_progress("a"):
        pass


def test_api_key_makes_a_key_and_its_line(run_edm, monkeypatch: pytest.MonkeyPatch) -> None:
    made = run_edm("api-key", "studio-a")
    assert made.exit_code == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("edm_") and len(key) > 40
    assert made.stderr.strip() == f"add to the keys file: studio-a:{hash_key(key)}"

    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{KEY_A}\n"))
    hashed = run_edm("api-key", "studio-a", "--stdin")
    assert hashed.exit_code == 0 and hashed.stdout.strip() == f"studio-a:{hash_key(KEY_A)}"
    assert KEY_A not in hashed.stdout + hashed.stderr

    bad = run_edm("api-key", "two words")
    assert bad.exit_code == 1 and len(bad.stderr.strip().splitlines()) == 1


def test_serve_refuses_a_bad_keys_file_in_one_line(run_edm, store_uri: str, tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("studio-a:not-a-hash\n")
    result = run_edm("--tracking-uri", store_uri, "serve", "--api-keys-file", str(keys))
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: API keys file {keys} line 1: expected 'name:sha256hex' (a name of letters, "
        "digits, '.', '_', '@', '-', and 64 hex digits)"
    ]


@pytest.mark.slow
def test_the_service_lets_in_known_keys_and_limits_each_client(
    register, registry, start_service, clip: Path, tmp_path: Path
) -> None:
    registry.promote_model(register(seed=0), "Production")
    keys = tmp_path / "api-keys"
    write_keys(keys, **{"studio-a": KEY_A, "batch": KEY_C})
    service = start_service("--api-keys-file", str(keys), "--rate-limit", "5")
    service.wait_ready()  # /ready is open: probes carry no key
    client = service.client
    for path in ("/health", "/ready", "/metrics"):
        assert client.get(path).status_code == 200, path

    for headers in ({}, {"X-API-Key": "guess"}, {"Authorization": f"Basic {KEY_A}"}):
        for answer in (
            client.get("/model/info", headers=headers),
            service.predict(clip, headers=headers),
        ):
            assert answer.status_code == 401, answer.text
            assert "a valid API key is required" in answer.json()["error"]
            assert answer.headers["WWW-Authenticate"] == "Bearer"
            assert KEY_A not in answer.text
    assert client.get("/model/info", headers={"X-API-Key": KEY_A}).status_code == 200
    assert (
        client.get("/model/info", headers={"Authorization": f"Bearer {KEY_A}"}).status_code == 200
    )
    predicted = service.predict(clip, headers={"X-API-Key": KEY_A})
    assert predicted.status_code == 200 and predicted.json()["bpm"] > 0

    # Rotation: the file changes, the service follows at the next request; no restart.
    write_keys(keys, **{"studio-a": KEY_B, "batch": KEY_C})
    assert client.get("/model/info", headers={"X-API-Key": KEY_A}).status_code == 401
    assert client.get("/model/info", headers={"X-API-Key": KEY_B}).status_code == 200

    # Five a minute per client: the batch client's sixth waits; studio-a (4 so far) does not.
    for _ in range(5):
        assert client.get("/model/info", headers={"X-API-Key": KEY_C}).status_code == 200
    limited = client.get("/model/info", headers={"X-API-Key": KEY_C})
    assert limited.status_code == 429, limited.text
    assert "'batch' is over 5 requests per minute" in limited.json()["error"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 12
    assert client.get("/model/info", headers={"X-API-Key": KEY_B}).status_code == 200
    assert client.get("/metrics").status_code == 200  # never limited
    no_tracebacks(service.stop())
