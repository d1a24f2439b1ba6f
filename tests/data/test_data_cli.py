from __future__ import annotations

from pathlib import Path

from tests.cli_runner import RunEdm


def test_synth_check_and_hash_from_the_command_line(tmp_path: Path, run_edm: RunEdm) -> None:
    def run(*args: str) -> tuple[int, str, str]:
        result = run_edm(*args)
        return result.exit_code, result.stdout, result.stderr

    out_dir = tmp_path / "synthetic"
    code, out, _ = run("data", "synth", str(out_dir), "--tracks", "2", "--seed", "9",
        "--min-seconds", "30", "--max-seconds", "45",
    )  # fmt: skip
    assert code == 0
    assert "Wrote 2 tracks" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "track_000.wav", "track_000.yaml", "track_001.wav", "track_001.yaml",
    ]  # fmt: skip

    code, out, _ = run("data", "check", str(out_dir))
    assert code == 0 and "2 usable tracks" in out

    code, out, _ = run("data", "hash", str(out_dir))
    assert code == 0 and out.strip().endswith(".dir")

    (out_dir / "track_001.wav").unlink()
    code, out, _ = run("data", "check", str(out_dir))
    assert code == 1
    assert "1 usable tracks" in out and "track_001.yaml" in out and "audio file not found" in out


def test_data_errors_are_one_red_line(tmp_path: Path, run_edm: RunEdm) -> None:
    result = run_edm("data", "check", str(tmp_path / "nowhere"))
    code, err = result.exit_code, result.stderr
    assert code == 1
    assert err.strip().startswith("Error:") and "data folder not found" in err
    assert len(err.strip().splitlines()) == 1


def test_synth_tempo_range_from_the_command_line(tmp_path: Path, run_edm: RunEdm) -> None:
    from edm.data.annotations import load_annotation

    out_dir = tmp_path / "fast"
    result = run_edm(
        "data", "synth", str(out_dir), "--tracks", "2", "--min-bpm", "170", "--max-bpm", "175",
        "--min-seconds", "30", "--max-seconds", "40",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    tempos = [load_annotation(p).audio.bpm for p in sorted(out_dir.glob("*.yaml"))]
    assert len(tempos) == 2 and all(170 <= bpm <= 175 for bpm in tempos)
    empty = run_edm("data", "synth", str(out_dir), "--min-bpm", "150", "--max-bpm", "120")
    assert empty.exit_code == 1 and "BPM range 150..120 is empty" in empty.stderr
