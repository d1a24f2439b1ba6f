"""The annotator's API on the real app over loopback: every endpoint, with bad input."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from tests.annotate.helpers import REVIEWER, AnnotateServer, document

from edm.annotate import AnnotateConfig
from edm.annotate.access import check_binding
from edm.api_keys import key_line, new_key
from edm.errors import ConfigError

BAD_IDS = [
    "../outside.yaml",
    "/etc/passwd.yaml",
    ".history/track_000.yaml",
    "track_000.wav",
    "nothing.yaml",
    "sub/../../x.yaml",
    "track_000.yaml\x00",
    "",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _edit(doc: dict, **changes: object) -> dict:
    body = {
        "bpm": doc["bpm"],
        "downbeat": doc["downbeat"],
        "structure": [
            {"time": s["time"], "label": s["label"], "confidence": s["confidence"]}
            for s in doc["structure"]
        ],
        "reviewed": True,
    }
    body.update(changes)
    return body


def test_the_queue_puts_the_least_sure_first_and_counts_statuses(server: AnnotateServer) -> None:
    with server.client() as client:
        listed = client.get("/api/tracks").json()
    assert [t["id"] for t in listed["tracks"]] == [
        "track_000.yaml",
        "track_001.yaml",
        "track_002.yaml",
    ]
    assert [t["status"] for t in listed["tracks"]] == ["needs_review", "needs_review", "reviewed"]
    assert listed["tracks"][0]["confidence"] == 0.41
    assert listed["counts"] == {"needs_review": 2, "in_progress": 0, "reviewed": 1, "error": 0}


def test_a_track_reads_with_its_etag_and_form(server: AnnotateServer) -> None:
    with server.client() as client:
        response = client.get("/api/track", params={"id": "track_000.yaml"})
        ours = client.get("/api/track", params={"id": "track_002.yaml"}).json()
    assert response.status_code == 200
    doc = response.json()
    assert response.headers["ETag"].startswith('"')
    assert doc["form"] == "annotator" and ours["form"] == "edm"
    assert doc["bpm"] == 150.0 and doc["beats_per_bar"] == 4
    assert [s["label"] for s in doc["structure"]] == ["intro", "buildup", "drop", "outro"]
    assert doc["metadata"]["source"] == "ml_model_edm-structure_v3"


@pytest.mark.parametrize("bad", BAD_IDS)
def test_paths_outside_the_folder_are_404(server: AnnotateServer, bad: str) -> None:
    with server.client() as client:
        for route in ("/api/track", "/api/audio", "/api/peaks", "/api/history"):
            response = client.get(route, params={"id": bad})
            assert response.status_code == 404, (route, bad, response.text)
            assert "error" in response.json()


def test_a_symbolic_link_out_of_the_folder_is_404(server: AnnotateServer, tmp_path: Path) -> None:
    outside = tmp_path / "secret.yaml"
    outside.write_text((server.config.folder / "track_002.yaml").read_text())
    (server.config.folder / "link.yaml").symlink_to(outside)
    with server.client() as client:
        assert client.get("/api/track", params={"id": "link.yaml"}).status_code == 404


def test_a_reviewed_save_keeps_the_form_and_every_field_it_does_not_show(
    server: AnnotateServer,
) -> None:
    path = server.config.folder / "track_000.yaml"
    before = document(path)
    with server.client() as client:
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        doc = read.json()
        body = _edit(doc)
        body["structure"][1]["label"] = "breakdown"
        body["structure"][2]["time"] = round(doc["downbeat"] + 6 * 1.6, 3)  # bar 7
        response = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=body,
            headers={"If-Match": read.headers["ETag"]},
        )
        history = client.get("/api/history", params={"id": "track_000.yaml"}).json()
    assert response.status_code == 200, response.text
    after = document(path)
    assert after["audio"]["time_signature"] == [4, 4]  # still the annotator's form
    assert after["audio"]["key"] == before["audio"]["key"]
    assert [s["label"] for s in after["structure"]] == ["intro", "breakdown", "drop", "outro"]
    assert after["structure"][2]["bar"] == 7
    meta = after["metadata"]
    assert meta["tier"] == 1 and meta["source"] == "manual" and meta["verified_by"] == REVIEWER
    assert "flags" not in meta
    assert meta["proposed_by"] == "ml_model_edm-structure_v3"
    assert (
        meta["notes"] == "kept as it is"
        and meta["sound_family"] == before["metadata"]["sound_family"]
    )
    assert after["energy"]["by_section"] == before["energy"]["by_section"]
    assert len(history["versions"]) == 1
    assert history["versions"][0]["source"] == "ml_model_edm-structure_v3"
    kept = next((server.config.folder / ".history" / "track_000.yaml").glob("*.yaml"))
    assert document(kept) == before


def test_a_draft_keeps_the_proposal_flagged_in_progress(server: AnnotateServer) -> None:
    with server.client() as client:
        read = client.get("/api/track", params={"id": "track_001.yaml"})
        response = client.put(
            "/api/track",
            params={"id": "track_001.yaml"},
            json=_edit(read.json(), reviewed=False),
            headers={"If-Match": read.headers["ETag"]},
        )
        listed = client.get("/api/tracks").json()
    assert response.status_code == 200
    meta = document(server.config.folder / "track_001.yaml")["metadata"]
    assert meta["tier"] == 3 and meta["flags"] == ["needs_review", "in_progress"]
    assert listed["tracks"][0]["id"] == "track_001.yaml"  # drafts lead the queue
    assert listed["tracks"][0]["status"] == "in_progress"


def test_a_stale_save_is_409_and_writes_nothing(server: AnnotateServer) -> None:
    path = server.config.folder / "track_000.yaml"
    with server.client() as client:
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        stale = read.headers["ETag"]
        first = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=_edit(read.json()),
            headers={"If-Match": stale},
        )
        saved = path.read_bytes()
        second = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=_edit(read.json(), bpm=140.0),
            headers={"If-Match": stale},
        )
        missing = client.put("/api/track", params={"id": "track_000.yaml"}, json=_edit(read.json()))
    assert first.status_code == 200
    assert second.status_code == 409
    assert "changed by someone else" in second.json()["error"]
    assert second.json()["etag"] == first.json()["etag"]
    assert missing.status_code == 428
    assert path.read_bytes() == saved


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"bpm": 0}, 422, "bpm"),
        ({"bpm": "fast"}, 422, "bpm"),
        ({"structure": [{"time": 1.0, "label": "chorus"}]}, 422, "label"),
        ({"structure": []}, 422, "structure"),
        ({"structure": [{"time": 999.0, "label": "intro"}]}, 422, "before the end"),
        ({"structure": [{"time": -1, "label": "intro"}]}, 422, "time"),
        ({"surprise": 1}, 422, "surprise"),
        ({"downbeat": float("inf")}, 422, "downbeat"),
    ],
)
def test_bad_saves_are_refused_with_the_field_and_write_nothing(
    server: AnnotateServer, change: dict, status: int, words: str
) -> None:
    path = server.config.folder / "track_000.yaml"
    before = path.read_bytes()
    with server.client() as client:
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        body = json.dumps(_edit(read.json(), **change), allow_nan=True)
        response = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            content=body,
            headers={"If-Match": read.headers["ETag"], "Content-Type": "application/json"},
        )
    assert response.status_code == status, response.text
    assert words in response.json()["error"]
    assert path.read_bytes() == before
    assert not (server.config.folder / ".history").exists()


def test_bodies_are_capped_and_must_be_json(server: AnnotateServer) -> None:
    with server.client() as client:
        huge = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            content=b"{" + b" " * 300_000 + b"}",
            headers={"Content-Type": "application/json", "If-Match": "*"},
        )
        form = client.put("/api/track", params={"id": "track_000.yaml"}, data={"bpm": "120"})
        garbage = client.post(
            "/api/restore",
            params={"id": "track_000.yaml"},
            content=b"not json",
            headers={"Content-Type": "application/json", "If-Match": "*"},
        )
    assert huge.status_code == 413
    assert form.status_code == 415
    assert garbage.status_code == 422


def test_audio_streams_with_ranges_and_is_never_written(server: AnnotateServer) -> None:
    audio = server.config.folder / "track_000.wav"
    before = _sha(audio)
    with server.client() as client:
        part = client.get(
            "/api/audio", params={"id": "track_000.yaml"}, headers={"Range": "bytes=100-199"}
        )
        whole = client.get("/api/audio", params={"id": "track_000.yaml"})
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=_edit(read.json()),
            headers={"If-Match": read.headers["ETag"]},
        )
    assert part.status_code == 206
    assert part.content == audio.read_bytes()[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{audio.stat().st_size}"
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    assert _sha(audio) == before


def test_peaks_come_in_three_bands_cached_by_the_audio_hash(server: AnnotateServer) -> None:
    with server.client() as client:
        first = client.get("/api/peaks", params={"id": "track_000.yaml"})
        second = client.get("/api/peaks", params={"id": "track_000.yaml"})
    peaks = first.json()
    assert peaks["per_second"] == 50
    assert abs(peaks["duration"] - 18.0) < 0.1
    assert {len(peaks[band]) for band in ("low", "mid", "high", "full")} == {901}
    assert max(peaks["full"]) == 100
    cached = list((server.config.cache_dir / "annotate-peaks").glob("*.json"))
    assert [p.name.split("-")[0] for p in cached] == [_sha(server.config.folder / "track_000.wav")]
    assert second.content == first.content


def test_history_restores_an_earlier_version(server: AnnotateServer) -> None:
    path = server.config.folder / "track_000.yaml"
    original = path.read_bytes()
    with server.client() as client:
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        saved = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=_edit(read.json(), bpm=151.0),
            headers={"If-Match": read.headers["ETag"]},
        ).json()
        versions = client.get("/api/history", params={"id": "track_000.yaml"}).json()["versions"]
        shown = client.get(
            "/api/version", params={"id": "track_000.yaml", "version": versions[0]["id"]}
        )
        stale = client.post(
            "/api/restore",
            params={"id": "track_000.yaml"},
            json={"version": versions[0]["id"]},
            headers={"If-Match": read.headers["ETag"]},
        )
        restored = client.post(
            "/api/restore",
            params={"id": "track_000.yaml"},
            json={"version": versions[0]["id"]},
            headers={"If-Match": saved["etag"]},
        )
        unknown = client.post(
            "/api/restore",
            params={"id": "track_000.yaml"},
            json={"version": "../../etc/passwd"},
            headers={"If-Match": "*"},
        )
        after = client.get("/api/history", params={"id": "track_000.yaml"}).json()["versions"]
    assert shown.text.encode() == original
    assert stale.status_code == 409
    assert restored.status_code == 200
    assert path.read_bytes() == original
    assert len(after) == 2  # the reviewed save is kept too
    assert unknown.status_code == 404


def test_broken_yaml_is_an_error_on_its_track_only(server: AnnotateServer) -> None:
    (server.config.folder / "broken.yaml").write_text("audio: {file: x.wav\n")
    (server.config.folder / "wrong.yaml").write_text(
        (server.config.folder / "track_002.yaml").read_text().replace("bpm: 150.0", "bpm: 5")
    )
    with server.client() as client:
        listed = client.get("/api/tracks").json()
        broken = client.get("/api/track", params={"id": "broken.yaml"})
        wrong = client.get("/api/track", params={"id": "wrong.yaml"})
        fine = client.get("/api/track", params={"id": "track_000.yaml"})
    statuses = {t["id"]: t["status"] for t in listed["tracks"]}
    assert statuses["broken.yaml"] == "error" and statuses["track_000.yaml"] == "needs_review"
    assert broken.status_code == 422 and "not valid YAML" in broken.json()["error"]
    assert wrong.status_code == 422 and "audio.bpm" in wrong.json()["error"]
    assert fine.status_code == 200


def test_unknown_routes_and_a_foreign_host_name(server: AnnotateServer) -> None:
    with server.client() as client:
        assert client.get("/api/nothing").status_code == 404
        rebound = client.get("/api/tracks", headers={"Host": "evil.example:8765"})
        page = client.get("/")
        script = client.get("/static/app.js")
        vendor = client.get("/static/vendor/wavesurfer/wavesurfer.esm.js")
    assert rebound.status_code == 421
    assert page.status_code == 200 and "edm annotate" in page.text
    assert script.status_code == 200
    assert vendor.status_code == 200, "run scripts/vendor-js.sh (make test does)"


def test_keys_name_the_reviewer_and_nothing_opens_without_one(tracks: Path, tmp_path: Path) -> None:
    key = new_key()
    keys = tmp_path / "keys"
    keys.write_text(key_line("grace", key) + "\n")
    config = AnnotateConfig(
        folder=tracks,
        reviewer="whoever-the-client-says",
        host="0.0.0.0",
        api_keys_file=keys,
        cache_dir=tmp_path / "cache",
        warm_peaks=False,
    )
    with AnnotateServer(config) as server, server.client() as client:
        session = client.get("/api/session").json()
        refused = [
            client.get(route, params={"id": "track_000.yaml"}).status_code
            for route in ("/api/tracks", "/api/track", "/api/audio", "/api/peaks")
        ]
        wrong = client.get("/api/tracks", headers={"X-API-Key": "edm_wrong"})
        bad_login = client.post("/api/login", json={"key": "edm_wrong"})
        login = client.post("/api/login", json={"key": key})
        by_cookie = client.get("/api/tracks")
        read = client.get("/api/track", params={"id": "track_000.yaml"})
        saved = client.put(
            "/api/track",
            params={"id": "track_000.yaml"},
            json=_edit(read.json()),
            headers={"If-Match": read.headers["ETag"], "X-Reviewer": "mallory"},
        )
    assert session["needs_key"] and session["reviewer"] is None
    assert refused == [401, 401, 401, 401]
    assert wrong.status_code == 401 and bad_login.status_code == 401
    assert login.json() == {"reviewer": "grace"}
    assert by_cookie.status_code == 200
    assert saved.status_code == 200
    assert document(tracks / "track_000.yaml")["metadata"]["verified_by"] == "grace"


def test_off_loopback_needs_keys() -> None:
    with pytest.raises(ConfigError, match="not a loopback address"):
        check_binding("0.0.0.0", None)
    check_binding("127.0.0.1", None)
    check_binding("::1", None)


def test_an_aiff_track_is_listed_and_played_as_wav(server: AnnotateServer, tracks: Path) -> None:
    import io

    import soundfile as sf

    samples, rate = sf.read(tracks / "track_000.wav", dtype="float32")
    sf.write(tracks / "club.aiff", samples, rate, format="AIFF")  # Chromium cannot play AIFF
    with server.client() as client:
        listed = [t["id"] for t in client.get("/api/tracks").json()["tracks"]]
        played = client.get("/api/audio", params={"id": "club.yaml"})
        part = client.get("/api/audio", params={"id": "club.yaml"}, headers={"Range": "bytes=0-99"})
    assert "club.yaml" in listed
    assert played.status_code == 200, played.text
    assert played.content[:4] == b"RIFF"
    decoded, decoded_rate = sf.read(io.BytesIO(played.content), dtype="float32")
    assert decoded_rate == rate and decoded.shape[0] == samples.shape[0]
    assert part.status_code == 206 and len(part.content) == 100
