"""GET /drift and the monitoring metrics on the real service: a version with a reference made
from the same clips the test then sends, and a version without one."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inference.audio_material import write_material
from tests.serving.service_helpers import no_tracebacks

from edm.inference.pipeline import File2Structure
from edm.monitoring.descriptors import FEATURES, track_descriptors
from edm.monitoring.reference import DriftReference

pytestmark = pytest.mark.slow  # starts the real service


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "clips"
    folder.mkdir()
    return [
        write_material(folder, kind, bpm, seconds=6.0)
        for kind, bpm in (
            ("click", 120.0),
            ("four", 128.0),
            ("break", 174.0),
            ("four", 140.0),
            ("click", 150.0),
        )
    ]


def test_drift_window_reference_and_metrics(
    register, registry, start_service, clips: list[Path], tmp_path: Path
) -> None:
    with_reference, without = register(seed=0), register(seed=1)
    analyzer = File2Structure.from_checkpoint(
        registry.download_version(with_reference, tmp_path / "dl")
    )
    rows = [track_descriptors(a.structure, a.audio) for a in map(analyzer.analyze, clips)]
    reference = DriftReference.from_tracks(rows, model="the clips").write(tmp_path / "ref.json")
    registry.log_drift_reference(with_reference, reference)
    assert registry.drift_reference(without) is None
    registry.promote_model(with_reference, "Production")

    service = start_service()
    service.wait_ready()
    empty = service.client.get("/drift")
    assert empty.status_code == 200, empty.text
    document = empty.json()
    assert document["version"] == with_reference and document["reference"]["n_tracks"] == 5
    assert document["window"] == {"size": 200, "requests": 0} and document["features"] == {}
    assert service.metric("edm_model_version", variant="production") == with_reference
    assert service.metric("edm_model_version", variant="staging") == 0
    assert service.metric("edm_registry_alias_version", alias="production") == with_reference

    for clip in clips:  # the very clips of the reference: nothing drifts
        answer = service.predict(clip)
        assert answer.status_code == 200, answer.text
        assert 0.0 <= answer.json()["confidence"]["overall"] <= 1.0
    document = service.client.get("/drift").json()
    assert document["window"]["requests"] == 5 and document["drifted"] == []
    assert list(document["features"]) == list(FEATURES)
    for feature, result in document["features"].items():
        assert result["status"] == "ok", (feature, result)
        assert result["psi"] == pytest.approx(0.0, abs=1e-6) and result["window"] == 5
    assert document["features"]["bpm"]["reference"] == document["features"]["bpm"]["recent"]
    assert service.metric("edm_drift_window_requests") == 5
    assert service.metric("edm_drift_psi", feature="loudness") == pytest.approx(0.0, abs=1e-6)
    assert service.metric("edm_drift_p_value", feature="bpm") == pytest.approx(1.0)
    assert service.metric("edm_prediction_confidence_count", variant="production") == 5

    # A version without a reference: 200, reference null, a new (empty) window.
    registry.promote_model(without, "Production")
    service.wait_for(lambda: service.serving("production") == without, 60, "the new version")
    service.predict(clips[0])
    document = service.client.get("/drift").json()
    assert document["version"] == without and document["reference"] is None
    assert "no drift reference" in document["message"] and document["features"] == {}
    assert document["window"]["requests"] == 1
    assert service.metric("edm_model_version", variant="production") == without
    assert service.metric("edm_registry_alias_version", alias="production") == without
    no_tracebacks(service.stop())
