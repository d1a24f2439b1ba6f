"""`edm monitor reference --from-traffic`: a version's drift reference refreshed from the
answers the service recorded (edm.monitoring.traffic, as `edm serve --record-traffic` writes
them), audited in the hash-chained trail; a real SQLite store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.monitoring.descriptors import FEATURES
from edm.monitoring.reference import DriftReference
from edm.monitoring.traffic import TrafficRecorder, recent_traffic
from edm.registry import ModelRegistry, production_timeline
from edm.serving.rollback import _last_promotion

START = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)


@pytest.fixture
def registry(store_uri: str, tmp_path: Path) -> ModelRegistry:
    """Version 1 in Production with a training reference of 4 tracks; version 2 in None."""
    registry = ModelRegistry(tracking_uri=store_uri, promotion_gate=None, packager=None)
    checkpoint = tiny_cnn_checkpoint(tmp_path / "tiny.pt")
    registry.log_model(checkpoint, "one", {}, {"val_loss": 1.0})
    registry.log_model(checkpoint, "two", {}, {"val_loss": 1.0})
    registry.promote_model(1, "Production", reason="first")
    rows = [dict.fromkeys(FEATURES, float(i)) for i in range(4)]
    training = DriftReference.from_tracks(rows, model="version 1", source="training")
    registry.log_drift_reference(1, training.write(tmp_path / "training.json"))
    return registry


@pytest.fixture
def traffic(tmp_path: Path) -> Path:
    """60 answers of version 1 (bpm 100 + i, a minute apart), 2 of version 2."""
    folder = tmp_path / "traffic"
    recorder = TrafficRecorder(folder)
    for i in range(60):
        row = dict.fromkeys(FEATURES, 0.5) | {"bpm": 100.0 + i, "confidence": float("nan")}
        recorder.record(1, row, at=START + timedelta(minutes=i))
    for i in range(2):
        recorder.record(2, dict.fromkeys(FEATURES, 1.0), at=START + timedelta(minutes=i))
    return folder


def reference(run_edm, store_uri: str, *options: str):
    return run_edm("--tracking-uri", store_uri, "monitor", "reference", *options)


def test_the_newest_answers_become_the_reference_and_the_trail_says_so(
    run_edm, store_uri: str, registry: ModelRegistry, traffic: Path
) -> None:
    trail_before = registry.history()
    result = reference(
        run_edm, store_uri, "--from-traffic", str(traffic), "--last", "40", "--min-tracks", "30",
        "--reason", "the catalogue moved to techno", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == 1  # the Production version, by default
    assert report["reference"]["source"] == "traffic" and report["reference"]["n_tracks"] == 40
    assert report["first"] == (START + timedelta(minutes=20)).isoformat(timespec="milliseconds")

    stored = DriftReference.from_dict(registry.drift_reference(1))
    assert stored.source == "traffic" and stored.data_dir == str(traffic)
    assert stored.features["bpm"] == [100.0 + i for i in range(20, 60)]  # the newest 40
    assert all(value != value for value in stored.features["confidence"])  # NaN kept as NaN

    # One audit entry, chained, no stage moved: Production is still version 1, promoted when
    # it was (the rollback window counts from the promotion, not from the refresh).
    (entry,) = registry.history()[: len(registry.history()) - len(trail_before)]
    assert (entry.action, entry.version, entry.from_stage.value, entry.to_stage.value) == (
        "reference",
        1,
        "Production",
        "Production",
    )
    assert entry.reason.startswith("drift reference from traffic: 40 Production answers")
    assert "replacing training (4 tracks" in entry.reason
    assert entry.reason.endswith("; the catalogue moved to techno")
    assert report["audit"]["hash"] == entry.hash and entry.seq == trail_before[0].seq + 1
    assert registry.stage_holders().production == 1
    assert production_timeline(registry.history()) == [1]
    assert _last_promotion(registry.history(), 1) == trail_before[0]
    verified = run_edm("--tracking-uri", store_uri, "models", "history", "--verify")
    assert verified.exit_code == 0, verified.stdout + verified.stderr

    # The table form, for version 2 in None, named by --model.
    table = reference(
        run_edm, store_uri, "--from-traffic", str(traffic), "--model", "2", "--min-tracks", "2"
    )
    assert table.exit_code == 0, table.stderr
    assert "Version 2's drift reference is now 2 recorded Production answers" in table.stdout
    assert "replacing no reference" in table.stdout
    assert registry.history()[0].to_stage.value == "None"


def test_too_little_traffic_or_none_is_refused_and_nothing_changes(
    run_edm, store_uri: str, registry: ModelRegistry, traffic: Path, tmp_path: Path
) -> None:
    before, trail = registry.drift_reference(1), registry.history()
    few = reference(run_edm, store_uri, "--from-traffic", str(traffic), "--model", "2")
    assert few.exit_code == 1
    assert "2 recorded answers of version 2, fewer than --min-tracks 50" in few.stderr
    assert len(few.stderr.strip().splitlines()) == 1
    missing = reference(run_edm, store_uri, "--from-traffic", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "no such folder of recorded traffic" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = reference(run_edm, store_uri, "--from-traffic", str(tmp_path / "empty"))
    assert empty.exit_code == 1 and "no traffic recorded for version 1" in empty.stderr
    assert registry.drift_reference(1) == before and registry.history() == trail


def test_recorded_files_roll_over_and_bad_lines_are_skipped(tmp_path: Path) -> None:
    recorder = TrafficRecorder(tmp_path, max_bytes=2000)
    for i in range(40):
        recorder.record(3, {"bpm": float(i)}, at=START + timedelta(seconds=i))
    folder = tmp_path / "version-3"
    names = sorted(path.name for path in folder.iterdir())
    assert len(names) == 2 and names[0].endswith(".jsonl") and ".old" in "".join(names)
    assert all(path.stat().st_size <= 2000 for path in folder.iterdir())
    with open(folder / names[-1], "a") as handle:
        handle.write('{"at": "2026-12-06T09:00:00+00:00", "features": {"bpm": \n')  # cut short
    recent = recent_traffic(tmp_path, 3, 5)
    assert [row["bpm"] for row in recent.rows] == [35.0, 36.0, 37.0, 38.0, 39.0]
    assert recent.files == 2
