from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.data.annotations import load_annotation
from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained small cnn: these tests check the command, not the model's quality."""
    return tiny_cnn_checkpoint(tmp_path_factory.mktemp("model") / "best.pt", seed=0)


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    write_synthetic_dataset(folder, 1, seed=5, config=SynthConfig(min_seconds=30, max_seconds=32))
    return folder / "track_000.wav"


def test_table(run_edm, model_file: Path, track: Path) -> None:
    result = run_edm("analyze", str(track), "--model", str(model_file))
    assert result.exit_code == 0, result.stderr
    assert "track_000.wav" in result.stdout and "BPM" in result.stdout
    assert "Label" in result.stdout and "Start" in result.stdout


def test_json(run_edm, model_file: Path, track: Path) -> None:
    result = run_edm("analyze", str(track), "--model", str(model_file), "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["model"] == str(model_file)
    (analysed,) = document["tracks"]
    assert analysed["file"] == str(track)
    assert analysed["duration"] == pytest.approx(load_duration(track), abs=0.05)
    assert {"bpm", "beats", "downbeats", "sections", "time_signature"} <= set(analysed)
    assert all(
        set(s) == {"start", "end", "label", "confidence", "energy"} for s in analysed["sections"]
    )


def test_yaml_is_an_annotation_the_trainer_reads(run_edm, model_file: Path, track: Path) -> None:
    out = Path("annotations")
    result = run_edm(
        "analyze", str(track), "--model", str(model_file), "--format", "yaml", "--output", str(out)
    )
    assert result.exit_code == 0, result.stderr
    annotation = load_annotation(out / "track_000.yaml")
    assert annotation.audio_path(out / "track_000.yaml").resolve() == track.resolve()
    assert annotation.metadata.tier == 3
    assert annotation.metadata.model == str(model_file)  # type: ignore[attr-defined]
    # On stdout, audio.file is relative to the current folder: save it here and it loads.
    printed = run_edm("analyze", str(track), "--model", str(model_file), "--format", "yaml")
    assert printed.exit_code == 0, printed.stderr
    Path("printed.yaml").write_text(printed.stdout)
    again = load_annotation("printed.yaml")
    assert again.audio_path(Path("printed.yaml")).resolve() == track.resolve()
    assert (again.structure, again.audio.bpm) == (annotation.structure, annotation.audio.bpm)


def test_plot_writes_a_png(run_edm, model_file: Path, track: Path) -> None:
    result = run_edm("analyze", str(track), "--model", str(model_file), "--plot", "-o", "out")
    assert result.exit_code == 0, result.stderr
    png = Path("out") / "track_000.png"
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1400, 450)
    assert len(data) > 20_000  # sections, beats and energy curves, not an empty canvas


def test_a_bad_file_is_reported_and_the_others_are_analysed(
    run_edm, model_file: Path, track: Path, tmp_path: Path
) -> None:
    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("these are not samples\n" * 20)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    truncated = tmp_path / "cut.wav"
    truncated.write_bytes(track.read_bytes()[:50_000])
    result = run_edm(
        "analyze",
        str(not_audio),
        str(track),
        str(empty),
        str(truncated),
        "--model",
        str(model_file),
        "--format",
        "json",
    )
    assert result.exit_code == 1
    errors = result.stderr.strip().splitlines()
    assert errors == [
        f"Error: {not_audio}: not a supported audio file "
        "(WAV, AIFF, FLAC, OGG, Opus, MP3, M4A/AAC)",
        f"Error: {empty}: file is empty",
        f"Error: {truncated}: truncated: the file ends before its declared audio data",
        "3 of 4 files could not be analysed",
    ]
    assert [t["file"] for t in json.loads(result.stdout)["tracks"]] == [str(track)]


def test_a_registry_version_is_downloaded_and_used(
    run_edm, store_uri: str, model_file: Path, track: Path
) -> None:
    ModelRegistry(tracking_uri=store_uri).log_model(model_file, "tiny", {}, {"best_val_loss": 1})
    missing = run_edm("--tracking-uri", store_uri, "analyze", str(track))
    assert missing.exit_code == 1
    assert "no version of 'edm-structure-detector' is in Production" in missing.stderr
    result = run_edm(
        "--tracking-uri", store_uri, "analyze", str(track), "--model", "1", "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "version 1 of 'edm-structure-detector'"
    # The whole MLflow model lands there: MLmodel, code, and the checkpoint among its artifacts.
    downloaded = Path("downloads") / "edm-structure-detector-v1"
    assert (downloaded / "MLmodel").is_file()
    assert (downloaded / "artifacts" / "best.pt").read_bytes() == model_file.read_bytes()


def test_usage_errors(run_edm, model_file: Path, track: Path) -> None:
    bad_format = run_edm("analyze", str(track), "--model", str(model_file), "--format", "xml")
    assert bad_format.exit_code == 2
    bad_ref = run_edm("analyze", str(track), "--model", "newest")
    assert bad_ref.exit_code == 1
    assert bad_ref.stderr.strip().startswith(
        "Error: model reference 'newest' is not a version number"
    )
    nothing_yet = run_edm("analyze", str(track), "--model", "latest")  # a valid word, no version
    assert nothing_yet.exit_code == 1
    assert "has no version yet: train one first" in nothing_yet.stderr


def load_duration(path: Path) -> float:
    import soundfile as sf

    return sf.info(str(path)).duration
