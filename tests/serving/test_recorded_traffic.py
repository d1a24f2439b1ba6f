"""`edm serve --record-traffic DIR` keeps each Production answer's descriptors, which
`edm monitor reference --from-traffic DIR` makes the version's drift reference, which the
running service then reads at its next poll: a real service, a real registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.serving.service_helpers import no_tracebacks

from edm.monitoring.descriptors import FEATURES
from edm.monitoring.reference import DriftReference

pytestmark = pytest.mark.slow  # starts the real service


def test_recorded_production_answers_become_the_reference(
    register, registry, start_service, clip: Path, tmp_path: Path, run_edm, store_uri: str
) -> None:
    first, second = register(seed=0), register(seed=1)
    registry.promote_model(first, "Production")
    registry.promote_model(second, "Staging")
    traffic = tmp_path / "traffic"
    service = start_service("--record-traffic", str(traffic))
    service.wait_ready()
    service.wait_for(lambda: service.serving("staging") == second, 60, "staging loaded")
    for _ in range(3):
        assert service.predict(clip).status_code == 200
    assert service.predict(clip, params={"variant": "staging"}).status_code == 200
    drift = service.client.get("/drift").json()
    assert drift["reference"] is None and drift["window"]["requests"] == 3

    # Production's three answers, in one file of the one worker; Staging's are not recorded.
    assert sorted(p.name for p in traffic.iterdir()) == [f"version-{first}"]
    (recorded,) = (traffic / f"version-{first}").iterdir()
    rows = [json.loads(line) for line in recorded.read_text().splitlines()]
    assert len(rows) == 3 and set(rows[0]["features"]) == set(FEATURES)
    assert rows[0]["features"]["audio_duration"] == pytest.approx(8.0, abs=0.1)
    assert "click" not in recorded.read_text()  # numbers only, no file name

    result = run_edm(
        "--tracking-uri", store_uri, "monitor", "reference", "--from-traffic", str(traffic),
        "--min-tracks", "3",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    stored = DriftReference.from_dict(registry.drift_reference(first))
    assert (stored.source, stored.n_tracks) == ("traffic", 3)
    assert stored.features["audio_duration"] == [row["features"]["audio_duration"] for row in rows]
    assert registry.history()[0].action == "reference"
    # The running service reads the new reference at its next poll, keeping its window.
    service.wait_for(
        lambda: (service.client.get("/drift").json()["reference"] or {}).get("source") == "traffic",
        30,
        "the new reference read",
    )
    drift = service.client.get("/drift").json()
    assert drift["reference"]["n_tracks"] == 3 and drift["window"]["requests"] == 3
    assert drift["features"]["audio_duration"]["psi"] == pytest.approx(0.0, abs=1e-9)
    no_tracebacks(service.stop())
