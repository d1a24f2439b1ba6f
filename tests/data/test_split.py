"""edm data split: a held-out split by audio content that does not drift as the folder grows."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.data.conftest import WriteTrack

from edm.data.split import SPLIT_FILE, folder_split, heldout_tracks, read_rule


def test_the_split_is_stable_when_tracks_are_added(
    write_track: WriteTrack, tmp_path: Path, run_edm: RunEdm
) -> None:
    data = tmp_path / "data"
    for i in range(10):
        write_track(data, f"t{i:02d}", duration=10.0, seed=i)
    assert heldout_tracks(data) == []  # no split file: nothing held out

    result = run_edm("data", "split", str(data), "--holdout", "0.3", "--seed", "7")
    assert result.exit_code == 0, result.stderr
    assert (data / SPLIT_FILE).is_file() and "held out" in result.stdout
    rule = read_rule(data)
    assert rule is not None and (rule.holdout, rule.seed) == (0.3, 7)
    before = {t.name for t in heldout_tracks(data)}
    assert 0 < len(before) < 10

    for i in range(10, 30):  # the folder grows; nobody runs edm data split again
        write_track(data, f"t{i:02d}", duration=10.0, seed=i)
    after = folder_split(data)
    held = {t.name for t in after.heldout}
    assert before <= held  # no held-out track moved to train
    assert not before & {t.name for t in after.train}
    assert 3 <= len(held) <= 16  # about 30 % of 30

    # Content, not name: a renamed held-out track stays held out.
    moved = sorted(before)[0]
    for suffix in (".wav", ".yaml"):
        shutil.move(data / f"{moved}{suffix}", data / f"renamed{suffix}")
    text = (data / "renamed.yaml").read_text().replace(f"{moved}.wav", "renamed.wav")
    (data / "renamed.yaml").write_text(text)
    renamed = {t.name for t in heldout_tracks(data)}
    assert renamed == (held - {moved}) | {"renamed"}

    # Another seed, another assignment.
    assert run_edm("data", "split", str(data), "--seed", "8").exit_code == 0
    assert {t.name for t in heldout_tracks(data)} != renamed


def test_split_refuses_a_bad_fraction(write_track: WriteTrack, tmp_path: Path, run_edm: RunEdm):
    write_track(tmp_path, "a", duration=10.0)
    result = run_edm("data", "split", str(tmp_path), "--holdout", "1.5")
    assert result.exit_code == 1 and "--holdout" in result.stderr
    assert not (tmp_path / SPLIT_FILE).exists()


@pytest.mark.slow
def test_evaluate_reads_the_heldout_tracks(
    write_track: WriteTrack, tmp_path: Path, run_edm: RunEdm
) -> None:
    import json

    from tests.tiny_model import tiny_cnn_checkpoint

    data = tmp_path / "data"
    for i in range(6):
        write_track(data, f"t{i}", duration=10.0, seed=i)
    assert run_edm("data", "split", str(data), "--holdout", "0.5", "--seed", "3").exit_code == 0
    held = sorted(t.name for t in heldout_tracks(data))
    model = tiny_cnn_checkpoint(tmp_path / "tiny.pt")

    result = run_edm("evaluate", str(data), "--model", str(model), "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(row["track"] for row in json.loads(result.stdout)["tracks"]) == held
    every = run_edm("evaluate", str(data), "--model", str(model), "--all-tracks", "--json")
    assert len(json.loads(every.stdout)["tracks"]) == 6
