"""A folder of annotations in the spec project's form, its audio in another folder, through
``edm data check``, ``edm train --registry``, ``edm evaluate`` and ``edm analyze --schema
annotator``, as the README tells."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import yaml
from tests.cli_runner import RunEdm

from edm.data.annotations import load_annotation
from edm.data.annotator_schema import is_annotator_form
from edm.registry import ModelRegistry
from edm.synth import SynthConfig, generate_track

FIXTURES = Path(__file__).parent / "fixtures" / "annotator" / "annotations"
# Where each fixture's audio goes below the music folder, the synthetic track it is, and its
# length: the fixtures were annotated by hand from tracks of an earlier generator (seed 11,
# 128 BPM); these have the same tempo and length, so the annotations fit them.
AUDIO = {
    "night_drive": (0, "night_drive.wav", 68.756),  # audio.file: an absolute path elsewhere
    "sunrise": (1, "club/sunrise.wav", 69.327),  # audio.file: club/sunrise.wav
    "warehouse": (2, "warehouse.wav", 70.191),
    "afterglow": (3, "sets/afterglow.wav", 70.778),  # found by its name below the music folder
}


@pytest.fixture(scope="module")
def music(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("library") / "music"
    for index, relative, seconds in AUDIO.values():
        config = SynthConfig(min_seconds=seconds, max_seconds=seconds, min_bpm=128, max_bpm=128)
        track = generate_track("t", 11, index, config)
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        sf.write(folder / relative, track.samples, track.sample_rate, subtype="PCM_16")
    return folder


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_annotator_folder_checks_trains_and_evaluates(
    run_edm: RunEdm,
    tmp_path: Path,
    store_uri: str,
    music: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = tmp_path / "data" / "annotations"
    shutil.copytree(FIXTURES, data)

    alone = run_edm("data", "check", str(data))
    assert alone.exit_code == 1
    assert "none of the 4 annotation files is usable" in alone.stderr
    assert "audio file not found" in alone.stderr and len(alone.stderr.strip().splitlines()) == 1

    monkeypatch.setenv("EDM_AUDIO_DIR", str(music))
    checked = run_edm("data", "check", str(data))
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert (
        "4 usable tracks" in checked.stdout and "tier 1: 1, tier 2: 1, tier 3: 2" in checked.stdout
    )
    warnings = [line for line in checked.stdout.splitlines() if line.startswith("warning")]
    assert len(warnings) == 2
    assert (
        "warehouse.yaml: section label 'bridge' (structure[3]) read as 'breakdown'" in warnings[1]
    )
    assert "bridge -> breakdown: 1" in checked.stdout and "Unmapped labels: 0" in checked.stdout
    assert "afterglow.yaml: energy.by_section covers 2 of 7 sections" in warnings[0]
    monkeypatch.delenv("EDM_AUDIO_DIR")

    trained = run_edm(
        "--tracking-uri", store_uri, "train", str(data), "--audio-dir", str(music),
        "--min-tier", "2", "--epochs", "1", "--batch-size", "4", "--crop-seconds", "4",
        "--run-name", "annotator", "--no-progress",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.stderr
    assert "Trained annotator on 1 tracks (validation: 1)" in trained.stdout
    assert "Tracks used: tier 1: 1, tier 2: 1; 2 left out by --min-*" in trained.stdout
    registry = ModelRegistry(tracking_uri=store_uri)
    run = registry.client.get_run(registry.get_model_info(1)["run_id"])
    tags, params = run.data.tags, run.data.params
    assert (params["min_tier"], params["min_confidence"]) == ("2", "None")
    counts = [tags[f"data_tier_{tier}_tracks"] for tier in (1, 2, 3)]
    assert counts == ["1", "1", "0"] and tags["data_excluded_tracks"] == "2"
    used = {
        "@audio/club/sunrise.wav": music / "club" / "sunrise.wav",
        "@audio/night_drive.wav": music / "night_drive.wav",
        "reference/night_drive.yaml": data / "reference" / "night_drive.yaml",
        "reference/sunrise.yaml": data / "reference" / "sunrise.yaml",
    }
    listing = json.dumps([{"md5": _md5(p), "relpath": r} for r, p in sorted(used.items())])
    assert tags["dataset_hash"] == hashlib.md5(listing.encode()).hexdigest() + ".dir"

    evaluated = run_edm(
        "--tracking-uri", store_uri, "evaluate", str(data), "--audio-dir", str(music),
        "--model", "1", "--json",
    )  # fmt: skip
    assert evaluated.exit_code == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert [row["track"] for row in report["tracks"]] == [
        "generated/afterglow", "generated/warehouse", "reference/night_drive", "reference/sunrise",
    ]  # fmt: skip
    assert [Path(w["path"]).name for w in report["warnings"]] == [
        "afterglow.yaml",
        "warehouse.yaml",
    ]

    # What the model finds, in the annotator's form, reads back as annotations do.
    out = tmp_path / "analysed"
    analysed = run_edm(
        "--tracking-uri", store_uri, "analyze", str(music / "night_drive.wav"), "--model", "1",
        "--format", "yaml", "--schema", "annotator", "--output", str(out),
    )  # fmt: skip
    assert analysed.exit_code == 0, analysed.stderr
    written = out / "night_drive.yaml"
    document = yaml.safe_load(written.read_text())
    assert is_annotator_form(document)
    metadata = document["metadata"]
    assert metadata["tier"] == 3 and metadata["flags"] == ["needs_review"]
    assert metadata["source"].startswith("ml_model_") and metadata["source"].endswith("_v1")
    assert isinstance(document["audio"]["time_signature"], list)
    annotation = load_annotation(written)
    assert annotation.audio_path(written).resolve() == (music / "night_drive.wav").resolve()

    ours = run_edm(
        "--tracking-uri", store_uri, "analyze", str(music / "night_drive.wav"), "--model", "1",
        "--format", "yaml",
    )  # fmt: skip
    assert ours.exit_code == 0 and "time_signature: 4/4" in ours.stdout
    assert not is_annotator_form(yaml.safe_load(ours.stdout))

    wrong = run_edm("analyze", str(music / "night_drive.wav"), "--schema", "annotator")
    assert wrong.exit_code == 1 and "--schema annotator needs --format yaml" in wrong.stderr
