"""edm review queue: least confident and most drifted first, in a list edm annotate follows."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli_runner import RunEdm
from tests.review.test_review_stats import PROPOSED, _document

from edm.annotate.tracks import TrackIndex
from edm.data.review_queue import read_queue
from edm.data.yaml_io import dump_yaml
from edm.review.queue import drift_score, output_descriptors, review_queue

SOURCE = "ml_model_edm-structure-detector_v1"


def _proposal(folder: Path, name: str, confidence: float, bpm: float = 128.0) -> None:
    document = _document(PROPOSED, source=SOURCE, tier=3, bpm=bpm)
    document["metadata"]["confidence"] = confidence
    document["metadata"]["flags"] = ["needs_review"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(dump_yaml(document))


def test_queue_orders_by_confidence_and_drift_and_annotate_follows(
    tmp_path: Path, run_edm: RunEdm
) -> None:
    folder = tmp_path / "proposals"
    _proposal(folder, "sure", 0.9)
    _proposal(folder, "unsure", 0.3)
    _proposal(folder, "middling", 0.6)
    _proposal(folder, "odd-tempo", 0.9, bpm=174.0)  # sure, but far from the training tempi
    reviewed = _document(PROPOSED, source="manual", tier=1)
    (folder / "done.yaml").write_text(dump_yaml(reviewed))

    items, unreadable = review_queue(folder)
    assert [i.track for i in items] == [
        "unsure.yaml", "middling.yaml", "odd-tempo.yaml", "sure.yaml"
    ]  # fmt: skip
    assert not unreadable

    # The training data's descriptors: tempi 124-132, four sections.
    reference = {"bpm": [124.0, 126.0, 128.0, 130.0, 132.0], "n_sections": [4.0] * 5}
    assert drift_score(output_descriptors(_read(folder / "odd-tempo.yaml")), reference) > 0.4
    items, _ = review_queue(folder, reference)
    assert [i.track for i in items][:2] == ["unsure.yaml", "odd-tempo.yaml"]

    result = run_edm("review", "queue", str(folder), "--limit", "3")
    assert result.exit_code == 0, result.stderr
    assert "no drift reference" in result.stdout  # version 1 is in no store here
    assert read_queue(folder) == ["unsure.yaml", "middling.yaml", "odd-tempo.yaml"]
    # edm annotate lists the queue first, in its order, then the rest as before.
    order = [t.id for t in TrackIndex(folder).tracks()]
    assert order[:3] == ["unsure.yaml", "middling.yaml", "odd-tempo.yaml"]
    assert order[-1] == "done.yaml"


def _read(path: Path):
    from edm.data.annotations import load_annotation

    return load_annotation(path)


def test_queue_takes_a_batch_output_and_opens_its_last_batch(
    tmp_path: Path, run_edm: RunEdm
) -> None:
    out = tmp_path / "results"
    older, newer = out / "_annotations" / "v1", out / "_annotations" / "v2"
    _proposal(older, "old", 0.2)
    _proposal(newer, "unsure", 0.3)
    _proposal(newer, "sure", 0.9)
    (out / "part-0000-abc.parquet").write_bytes(b"PAR1")
    os.utime(older, (1_000_000, 1_000_000))  # the v1 batch ran long before

    result = run_edm("review", "queue", str(out))
    assert result.exit_code == 0, result.stderr
    assert f"Proposals of the last batch: {newer}" in result.stdout
    assert read_queue(newer) == ["unsure.yaml", "sure.yaml"]
    assert not (older / ".edm-review-queue").exists()


def test_queue_of_batch_results_without_proposals_says_how_to_get_them(
    tmp_path: Path, run_edm: RunEdm
) -> None:
    out = tmp_path / "results"
    out.mkdir()
    (out / "part-0000-abc.parquet").write_bytes(b"PAR1")
    result = run_edm("review", "queue", str(out))
    assert result.exit_code != 0
    assert "--format yaml" in result.stderr and len(result.stderr.strip().splitlines()) == 1
