"""edm review stats: what reviewers changed against the proposing version, on planted edits
whose scores are computed here by hand."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.cli_runner import RunEdm

from edm.data.yaml_io import dump_yaml
from edm.review.changes import folder_changes
from edm.review.stats import review_stats

MODEL = "edm-structure-detector"


def _document(
    sections: list[tuple[float, str]],
    *,
    source: str,
    tier: int,
    bpm: float = 128.0,
    downbeat: float = 0.5,
    **metadata: Any,
) -> dict[str, Any]:
    bar = 4 * 60.0 / bpm
    return {
        "audio": {"file": "t.wav", "duration": 60.0, "bpm": bpm, "downbeat": downbeat},
        "structure": [
            {"bar": 1 + round((t - downbeat) / bar), "label": label, "time": t}
            for t, label in sections
        ],
        "metadata": {"tier": tier, "confidence": 0.5, "source": source, **metadata},
    }


PROPOSED = [(0.5, "intro"), (15.5, "buildup"), (30.5, "drop"), (50.5, "outro")]
# The reviewer moved the buildup 1 s, added a breakdown, changed the BPM and the downbeat.
REVIEWED = [(0.5, "intro"), (16.5, "buildup"), (30.5, "drop"), (40.5, "breakdown"), (50.5, "outro")]


def _write(folder: Path, name: str, final: dict[str, Any], proposal: dict[str, Any] | None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(dump_yaml(final))
    if proposal is not None:  # as edm annotate keeps it: DIR/.history/<track>/<time>.yaml
        history = folder / ".history" / f"{name}.yaml"
        history.mkdir(parents=True, exist_ok=True)
        (history / "20260101T000000.000000Z.yaml").write_text(dump_yaml(proposal))


def plant(folder: Path) -> None:
    v3 = f"ml_model_{MODEL}_v3"
    _write(
        folder,
        "edited",
        _document(REVIEWED, source="manual", tier=1, bpm=130.0, downbeat=0.6, proposed_by=v3),
        _document(PROPOSED, source=v3, tier=3),
    )
    _write(
        folder,
        "accepted",
        _document(PROPOSED, source="manual", tier=1, review_seconds=42),
        _document(PROPOSED, source=v3, tier=3),
    )
    v2 = f"ml_model_{MODEL}_v2"
    _write(
        folder,
        "older",
        _document(REVIEWED, source="manual", tier=1),
        _document(PROPOSED, source=v2, tier=3),
    )
    _write(folder, "no-proposal", _document(REVIEWED, source="manual", tier=1), None)
    _write(folder, "unreviewed", _document(PROPOSED, source=v3, tier=3), None)


def test_review_stats_equal_hand_computed_values(tmp_path: Path) -> None:
    plant(tmp_path)
    found = folder_changes(tmp_path)
    assert found.reviewed_without_proposal == ["no-proposal.yaml"]
    edited = next(t for t in found.tracks if t.track == "edited.yaml").scores
    # Boundaries (start and end trimmed): reviewed 0.5 16.5 30.5 40.5 50.5, proposed 0.5 15.5
    # 30.5 50.5. Within 0.5 s three match: P 3/4, R 3/5; within 3 s four: P 1, R 4/5.
    assert edited["boundary_f_0.5"] == pytest.approx(2 * 0.75 * 0.6 / 1.35)
    assert edited["boundary_f_3"] == pytest.approx(2 * 0.8 / 1.8)
    # Labels over the 2975 frames from 0.5 s to 60 s: 15.5-16.5 s (50 frames) and
    # 40.5-50.5 s (500 frames) differ.
    assert edited["label_accuracy"] == pytest.approx(2425 / 2975)
    assert edited["bpm_accuracy"] == 1.0  # 128 is within 4 % of 130
    assert edited["downbeat_offset"] == pytest.approx(0.1)
    # One section moved past 0.5 s (added + removed), one added, the BPM, the downbeat.
    assert edited["edits"] == 5.0

    stats = review_stats([tmp_path])
    assert [(v.proposed_by.version, len(v.tracks)) for v in stats.versions] == [(3, 2), (2, 1)]
    v3 = stats.versions[0].metrics()
    assert v3["review_tracks"] == 2
    assert v3["review_boundary_f_3"] == pytest.approx((2 * 0.8 / 1.8 + 1.0) / 2, abs=1e-6)
    assert v3["review_label_accuracy"] == pytest.approx((2425 / 2975 + 1.0) / 2, abs=1e-6)
    assert v3["review_edits"] == 2.5
    assert v3["review_seconds"] == 42.0  # known for one track only


def test_review_stats_cli_logs_on_the_version_and_models_info_shows_it(
    tmp_path: Path, run_edm: RunEdm, store_uri: str, checkpoint: Path
) -> None:
    from edm.registry import ModelRegistry

    registry = ModelRegistry(tracking_uri=store_uri)
    for number in range(3):
        registry.log_model(checkpoint, f"run-{number}", {}, {})
    plant(tmp_path / "reviewed")

    shown = run_edm("review", "stats", str(tmp_path / "reviewed"))
    assert shown.exit_code == 0, shown.stderr
    assert f"{MODEL} v3" in shown.stdout and "1 reviewed file(s) without" in shown.stdout

    logged = run_edm(
        "--tracking-uri", store_uri, "review", "stats", str(tmp_path / "reviewed"), "--log",
        "--json",
    )  # fmt: skip
    assert logged.exit_code == 0, logged.stderr
    document = json.loads(logged.stdout)
    assert document["logged"] == [3, 2]
    record = registry.version_record(3)
    assert record is not None and record.metrics["review_tracks"] == 2
    assert record.metrics["review_boundary_f_3"] == pytest.approx(0.944444, abs=1e-5)

    info = run_edm("--tracking-uri", store_uri, "models", "info", "3")
    assert info.exit_code == 0, info.stderr
    assert "2 reviewed tracks, boundary F@3s 0.94, labels 0.91" in info.stdout
    compare = run_edm("--tracking-uri", store_uri, "models", "compare", "2", "3")
    assert compare.exit_code == 0, compare.stderr
    assert "v2: 1 reviewed tracks" in compare.stdout and "v3: 2 reviewed tracks" in compare.stdout
