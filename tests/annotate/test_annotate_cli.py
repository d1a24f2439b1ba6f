"""``edm annotate``'s checks before it serves anything."""

from __future__ import annotations

from pathlib import Path

from tests.cli_runner import RunEdm


def test_off_loopback_without_keys_is_refused(run_edm: RunEdm, tmp_path: Path) -> None:
    result = run_edm("annotate", str(tmp_path), "--host", "0.0.0.0")
    assert result.exit_code == 1
    assert "not a loopback address" in result.stderr and "--api-keys-file" in result.stderr


def test_a_missing_folder_or_keys_file_is_named(run_edm: RunEdm, tmp_path: Path) -> None:
    missing = run_edm("annotate", str(tmp_path / "nowhere"))
    assert missing.exit_code == 1 and "nowhere: annotation folder not found" in missing.stderr
    keys = run_edm("annotate", str(tmp_path), "--api-keys-file", str(tmp_path / "keys"))
    assert keys.exit_code == 1 and "keys: file not found" in keys.stderr
    audio = run_edm("annotate", str(tmp_path), "--audio-dir", str(tmp_path / "music"))
    assert audio.exit_code == 1 and "music: audio folder not found" in audio.stderr
