"""The model in the loop: a track with no annotation is proposed by the model when opened."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from tests.annotate.helpers import REVIEWER, AnnotateServer, document
from tests.tiny_model import tiny_cnn_checkpoint

from edm.annotate import AnnotateConfig


@pytest.mark.slow  # a model loads and analyses an 18 s track
def test_an_unannotated_track_is_proposed_in_the_background(tracks: Path, tmp_path: Path) -> None:
    (tracks / "track_002.yaml").unlink()  # its audio stays: a track nobody annotated
    checkpoint = tiny_cnn_checkpoint(tmp_path / "tiny.pt")
    config = AnnotateConfig(
        folder=tracks,
        model=str(checkpoint),
        reviewer=REVIEWER,
        cache_dir=tmp_path / "cache",
        warm_peaks=False,
    )
    with AnnotateServer(config) as server, server.client() as client:
        listed = client.get("/api/tracks").json()["tracks"]
        new = next(t for t in listed if t["id"] == "track_002.yaml")
        before = client.get("/api/track", params={"id": "track_002.yaml"}).json()
        started = client.post("/api/propose", params={"id": "track_002.yaml"}, json={})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            state = client.get("/api/track", params={"id": "track_002.yaml"}).json()
            if state["annotated"] or (state["job"] or {}).get("state") == "failed":
                break
            time.sleep(0.2)
        again = client.post("/api/propose", params={"id": "track_002.yaml"}, json={})
        outside = client.post("/api/propose", params={"id": "../x.yaml"}, json={})
    assert new["status"] == "needs_review" and not new["annotated"] and new["has_audio"]
    assert listed[0]["id"] == "track_002.yaml"  # no confidence yet: the queue's head
    assert before == {"id": "track_002.yaml", "annotated": False, "job": None}
    assert started.status_code == 202
    assert state["annotated"], state
    written = document(tracks / "track_002.yaml")
    assert written["metadata"]["tier"] == 3
    assert written["metadata"]["flags"] == ["needs_review"]
    assert written["metadata"]["source"] == "ml_model_tiny"
    assert written["audio"]["file"] == "track_002.wav"
    assert isinstance(written["audio"]["time_signature"], list)  # the annotator's form
    assert again.status_code == 409
    assert outside.status_code == 404
