from __future__ import annotations

from pathlib import Path

from tests.cli_runner import RunEdm

from edm.audio.synth import SynthConfig, write_synthetic_dataset


def test_train_without_registry_and_its_errors(run_edm: RunEdm, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_synthetic_dataset(data, 3, seed=3, config=SynthConfig(min_seconds=40, max_seconds=45))
    (data / "broken.yaml").write_text("audio: {file: missing.wav}\n")
    result = run_edm(
        "train", str(data), "--no-registry", "--epochs", "1", "--batch-size", "4",
        "--crop-seconds", "6", "--run-name", "cli", "--no-progress",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "skipped" in result.stderr and "broken.yaml" in result.stderr
    assert "Trained cli on 2 tracks (validation: 1)" in result.stdout
    assert (tmp_path / "outputs" / "cli" / "best.pt").is_file()
    assert not (tmp_path / "mlruns").exists()

    bad_tag = run_edm("train", str(data), "--tag", "novalue")
    assert bad_tag.exit_code == 1 and "--tag 'novalue' is not KEY=VALUE" in bad_tag.stderr
    missing = run_edm("train", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "nowhere" in missing.stderr
    bad_scheduler = run_edm("train", str(data), "--scheduler", "linear")
    assert bad_scheduler.exit_code == 1 and "'scheduler'" in bad_scheduler.stderr
