from __future__ import annotations

import sys
from pathlib import Path

import pytest

from edm.cli.main import main


def _run(monkeypatch: pytest.MonkeyPatch, capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    monkeypatch.setattr(sys, "argv", ["edm", *args])
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def test_synth_check_and_hash_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    out_dir = tmp_path / "synthetic"
    code, out, _ = _run(
        monkeypatch, capsys, "data", "synth", str(out_dir), "--tracks", "2", "--seed", "9",
        "--min-seconds", "30", "--max-seconds", "45",
    )  # fmt: skip
    assert code == 0
    assert "Wrote 2 tracks" in out
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "track_000.wav", "track_000.yaml", "track_001.wav", "track_001.yaml",
    ]  # fmt: skip

    code, out, _ = _run(monkeypatch, capsys, "data", "check", str(out_dir))
    assert code == 0 and "2 usable tracks" in out

    code, out, _ = _run(monkeypatch, capsys, "data", "hash", str(out_dir))
    assert code == 0 and out.strip().endswith(".dir")

    (out_dir / "track_001.wav").unlink()
    code, out, _ = _run(monkeypatch, capsys, "data", "check", str(out_dir))
    assert code == 1
    assert "1 usable tracks" in out and "track_001.yaml" in out and "audio file not found" in out


def test_data_errors_are_one_red_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code, _, err = _run(monkeypatch, capsys, "data", "check", str(tmp_path / "nowhere"))
    assert code == 1
    assert err.strip().startswith("Error:") and "data folder not found" in err
    assert len(err.strip().splitlines()) == 1
