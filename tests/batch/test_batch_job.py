"""`edm batch` on a real local Spark session: the same answers as `edm analyze` and `/predict`,
error rows for bad files, the MLflow run, the annotator YAML, the re-run skip and a promotion."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.batch.conftest import BAD
from tests.serving.service_helpers import EdmService

from edm.batch import BATCH_EXPERIMENT, BatchOptions, read_results, run_batch
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow  # Spark starts once for the module (seconds), then each job


def registry_of(store: str):
    return lambda: ModelRegistry(tracking_uri=store, promotion_gate=None)


def by_path(out: Path, version: int | None = None) -> dict[str, dict[str, Any]]:
    rows = read_results(out).to_pylist()
    if version is not None:
        rows = [r for r in rows if r["model_version"] == version]
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["path"] not in found, f"{row['path']} appears twice"
        found[row["path"]] = row
    return found


@pytest.fixture(scope="module")
def first_run(
    spark: Any, catalogue: Path, batch_store: str, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """One job over the catalogue with the Production version, YAML too."""
    out = tmp_path_factory.mktemp("first") / "results"
    seen: list[Any] = []
    summary = run_batch(
        BatchOptions(source=str(catalogue), out=out, write_yaml=True, chunk_size=4),
        registry_of(batch_store),
        session=spark,
        on_progress=seen.append,
        progress_interval_s=0.1,
    )
    return {"summary": summary, "out": out, "progress": seen}


def test_rows_equal_edm_analyze_and_predict(
    first_run: dict[str, Any], catalogue: Path, batch_store: str, run_edm, tmp_path: Path
) -> None:
    rows = by_path(first_run["out"])
    good = sorted(p for p, r in rows.items() if r["error"] is None)
    assert len(good) == 4
    assert {r["model_uri"] for r in rows.values()} == {"models:/edm-structure-detector/1"}
    assert {r["model_version"] for r in rows.values()} == {1}

    analyzed = run_edm("--tracking-uri", batch_store, "analyze", *good, "-m", "1", "-f", "json")
    assert analyzed.exit_code == 0, analyzed.stderr
    answers = {t["file"]: t for t in json.loads(analyzed.stdout)["tracks"]}
    service = EdmService(batch_store, tmp_path).wait_started()
    service.wait_ready()
    try:
        for path in good:
            response = service.predict(Path(path))
            assert response.status_code == 200, response.text
            predicted = response.json()
            assert predicted["model"]["version"] == 1
            for expected in (answers[path], predicted):
                row = rows[path]
                assert row["beats"] == expected["beats"]
                assert row["downbeats"] == expected["downbeats"]
                assert row["bpm"] == expected["bpm"] and row["duration"] == expected["duration"]
                assert row["confidence"] == expected["confidence"]
                assert [
                    {
                        "start": s["start"],
                        "end": s["end"],
                        "label": s["label"],
                        "confidence": s["confidence"],
                        "energy": {
                            "low": s["energy_low"],
                            "mid": s["energy_mid"],
                            "high": s["energy_high"],
                        },
                    }
                    for s in row["sections"]
                ] == expected["sections"]
    finally:
        service.stop()


def test_bad_files_get_error_rows_and_the_rest_go_on(
    first_run: dict[str, Any], catalogue: Path
) -> None:
    summary = first_run["summary"]
    assert (summary.tracks, summary.analysed, summary.failed, summary.skipped) == (6, 4, 2, 0)
    rows = by_path(first_run["out"])
    empty, text = (rows[str(catalogue / name)] for name in BAD)
    assert empty["error"] == "the audio is empty" and empty["beats"] is None
    assert "not a supported audio file" in text["error"]
    assert text["content_hash"] and text["size_bytes"] == (catalogue / BAD[1]).stat().st_size
    assert all(r["error"] is None and r["beats"] for p, r in rows.items() if p.endswith("0.wav"))
    last = first_run["progress"][-1]
    assert (last.processed, last.total, last.failed) == (6, 6, 2)


def test_the_job_is_an_mlflow_run_with_its_catalogue_as_dataset(
    first_run: dict[str, Any], batch_store: str
) -> None:
    client = ModelRegistry(tracking_uri=batch_store, promotion_gate=None).client
    run = client.get_run(first_run["summary"].run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == BATCH_EXPERIMENT and run.info.status == "FINISHED"
    metrics = run.data.metrics
    counts = (metrics["tracks_done"], metrics["tracks_failed"], metrics["tracks_skipped"])
    assert counts == (4, 2, 0)
    assert metrics["tracks_per_second"] > 0 and metrics["wall_seconds"] > 0
    assert run.data.params["model_uri"] == "models:/edm-structure-detector/1"
    assert run.data.params["model_version"] == "1"
    (dataset,) = run.inputs.dataset_inputs
    assert dataset.dataset.name.startswith("catalogue:") and dataset.dataset.source_type
    assert json.loads(dataset.dataset.profile)["num_rows"] == 6
    assert len(run.inputs.model_inputs) == 1  # the version's logged model


def test_yaml_is_the_annotator_form_flagged_for_review(
    first_run: dict[str, Any], catalogue: Path
) -> None:
    from edm.data.annotations import load_annotation

    folder = first_run["out"] / "_annotations" / "v1"
    files = sorted(folder.rglob("*.yaml"))
    assert len(files) == 4 and (folder / "sub" / "four_124.yaml") in files
    text = files[0].read_text()
    assert "ml_model_edm-structure-detector_v1" in text and "needs_review" in text
    annotation = load_annotation(files[0])
    assert annotation.metadata.tier == 3 and annotation.metadata.flags == ["needs_review"]
    assert annotation.audio_path(files[0]).resolve().is_file()


def test_a_rerun_skips_what_is_done_and_writes_nothing(
    first_run: dict[str, Any], spark: Any, catalogue: Path, batch_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    shutil.copytree(first_run["out"], out)
    before = sorted(out.rglob("*.parquet"))
    summary = run_batch(
        BatchOptions(source=str(catalogue), out=out), registry_of(batch_store), session=spark
    )
    # The two bad files stay failed (exit 1 from the CLI), named with their errors; nothing
    # was read or logged: the driver saw every file unchanged.
    assert (summary.analysed, summary.failed, summary.skipped) == (0, 2, 4)
    assert [(Path(f["path"]).name, f["earlier"]) for f in summary.failures] == [
        (BAD[0], True),
        (BAD[1], True),
    ]
    assert summary.failures[0]["error"] == "the audio is empty"
    assert summary.run_id is None
    assert sorted(out.rglob("*.parquet")) == before
    assert len(by_path(out)) == 6

    retried = run_batch(
        BatchOptions(source=str(catalogue), out=out, retry_failed=True),
        registry_of(batch_store),
        session=spark,
    )
    assert (retried.analysed, retried.failed, retried.skipped) == (0, 2, 4)
    assert retried.run_id is not None and not any(f["earlier"] for f in retried.failures)


def test_a_promotion_reanalyses_only_with_refresh_or_model(
    first_run: dict[str, Any], spark: Any, catalogue: Path, batch_store: str, tmp_path: Path
) -> None:
    from tests.tiny_model import tiny_cnn_checkpoint

    out = tmp_path / "results"
    shutil.copytree(first_run["out"], out)
    (catalogue / "sub" / "four_124.wav").touch()  # a new mtime, the same content
    registry = ModelRegistry(tracking_uri=batch_store, promotion_gate=None)
    registry.log_model(tiny_cnn_checkpoint(tmp_path / "v2.pt", seed=1), "v2", {}, {})
    registry.promote_model(2, "Production")
    options = BatchOptions(source=str(catalogue), out=out)

    kept = run_batch(options, registry_of(batch_store), session=spark)
    # The touched file goes to the executors with its hash and is skipped there; the bad files
    # keep version 1's errors.
    assert (kept.model_version, kept.skipped, kept.stale, kept.failed) == (2, 4, 4, 2)
    assert not (out / "model_version=2").exists()

    redone = run_batch(
        BatchOptions(source=str(catalogue), out=out, refresh=True),
        registry_of(batch_store),
        session=spark,
    )
    assert (redone.analysed, redone.failed, redone.skipped) == (4, 2, 0)
    assert len(by_path(out, 2)) == 6 and len(by_path(out, 1)) == 6
    named = run_batch(
        BatchOptions(source=str(catalogue), out=out, model="models:/edm-structure-detector/2"),
        registry_of(batch_store),
        session=spark,
    )
    assert (named.analysed, named.skipped, named.failed) == (0, 4, 2)


def test_tempo_hints_reach_the_executors(
    first_run: dict[str, Any], spark: Any, catalogue: Path, batch_store: str, tmp_path: Path
) -> None:
    out = tmp_path / "hinted"
    summary = run_batch(
        BatchOptions(source=str(catalogue), out=out, min_bpm=100.0, max_bpm=110.0),
        registry_of(batch_store),
        session=spark,
    )
    assert (summary.analysed, summary.failed) == (4, 2)
    hinted = {p: r["bpm"] for p, r in by_path(out).items() if r["error"] is None}
    free = {p: r["bpm"] for p, r in by_path(first_run["out"]).items() if r["error"] is None}
    assert all(100.0 <= bpm <= 110.0 for bpm in hinted.values()), hinted
    assert any(not 100.0 <= bpm <= 110.0 for bpm in free.values()), free  # the hint mattered
