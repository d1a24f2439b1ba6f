from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest

from edm.data.grouped_split import group_key, normalised_title, split_tracks
from edm.data.tracks import load_dataset
from edm.errors import DataError


def test_loads_good_tracks_and_reports_every_skipped_file(
    tmp_path: Path, write_track, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    write_track(data, "good_a")
    write_track(data / "sub", "good_b")
    (data / "bad_label.yaml").write_text(
        (data / "good_a.yaml").read_text().replace("label: drop", "label: dorp")
    )
    write_track(data, "no_audio")
    (data / "no_audio.wav").unlink()
    write_track(data, "broken_audio")
    (data / "broken_audio.wav").write_bytes(b"RIFF....WAVEjunk")
    (data / "syntax.yaml").write_text("audio: [\n")
    (data / ".hidden").mkdir()
    (data / ".hidden" / "ignored.yaml").write_text("nonsense: [")

    with caplog.at_level(logging.INFO, logger="edm.data.tracks"):
        loaded = load_dataset(data)
    tracks, skipped = loaded.tracks, loaded.skipped

    assert [t.name for t in tracks] == ["good_a", "sub/good_b"]
    assert tracks[1].audio_path == data / "sub" / "good_b.wav"
    reasons = {entry.path.name: entry.reason for entry in skipped}
    assert set(reasons) == {"bad_label.yaml", "no_audio.yaml", "broken_audio.yaml", "syntax.yaml"}
    assert "field 'structure[1].label': 'dorp' is not one of" in reasons["bad_label.yaml"]
    assert "audio file not found" in reasons["no_audio.yaml"]
    assert "broken_audio.wav" in reasons["broken_audio.yaml"]
    assert "not valid YAML" in reasons["syntax.yaml"]
    warned = " ".join(r.getMessage() for r in caplog.records)
    for name in reasons:
        assert name in warned


def test_empty_missing_or_useless_data_folder_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no annotation files"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(DataError, match="data folder not found"):
        load_dataset(tmp_path / "absent")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "t.yaml").write_text("audio: 3\n")
    with pytest.raises(DataError, match=r"none of the 1 annotation files is usable"):
        load_dataset(tmp_path / "bad")


def test_split_is_by_track_reproducible_and_order_independent(tmp_path: Path, write_track) -> None:
    for i in range(10):
        write_track(tmp_path, f"t{i}", duration=9.0, seed=i)
    tracks = load_dataset(tmp_path).tracks

    train, val = split_tracks(tracks, val_fraction=0.2, seed=1)
    again_train, again_val = split_tracks(list(reversed(tracks)), val_fraction=0.2, seed=1)
    other = split_tracks(tracks, val_fraction=0.2, seed=2)[1]

    assert val and len(train) + len(val) == 10
    assert {t.name for t in train}.isdisjoint({t.name for t in val})
    assert [t.name for t in val] == [t.name for t in again_val]
    assert [t.name for t in train] == [t.name for t in again_train]
    assert {t.name for t in other} != {t.name for t in val}


def test_adding_tracks_never_moves_a_track_across(tmp_path: Path, write_track) -> None:
    """The seeded shuffle moved 5 of 8 validation tracks into training when one track was
    added to 40; a side decided by each track's own key moves none."""
    for i in range(40):
        write_track(tmp_path, f"t{i:02d}", seed=i)
    before_train, before_val = split_tracks(load_dataset(tmp_path).tracks, 0.2, seed=0)
    for i in range(40, 50):
        write_track(tmp_path, f"t{i:02d}", seed=i)
    after_train, after_val = split_tracks(load_dataset(tmp_path).tracks, 0.2, seed=0)
    assert {t.name for t in before_val} <= {t.name for t in after_val}
    assert {t.name for t in before_train} <= {t.name for t in after_train}
    assert 3 <= len(before_val) <= 14  # about a fifth of 40


def test_versions_of_one_piece_stay_on_one_side(tmp_path: Path, write_track) -> None:
    names = [
        ("Artist - Tune (Extended Mix)", "Artist - Tune (Radio Edit)", "artist - tune"),
        ("Other [Original Mix]", "Other - Club Mix", "other"),
    ]
    for seed, (a, b, _) in enumerate(names):
        write_track(tmp_path, a, seed=2 * seed)
        write_track(tmp_path, b, seed=2 * seed + 1)
    for i in range(20):
        write_track(tmp_path, f"solo{i}", seed=100 + i)
    tracks = load_dataset(tmp_path).tracks
    for a, _, title in names:
        assert normalised_title(a) == title
    for seed in range(6):
        val = split_tracks(tracks, 0.3, seed=seed)[1]
        val_names = {t.name for t in val}
        for a, b, _ in names:
            assert (a in val_names) == (b in val_names), (seed, a)

    # A person's group field joins what the names do not tell apart.
    grouped = [
        replace(t, annotation=_with_group(t.annotation, "one piece"))
        if t.name in ("solo1", "solo2")
        else t
        for t in tracks
    ]
    assert group_key(grouped[0]) != group_key(next(t for t in grouped if t.name == "solo1"))
    for seed in range(6):
        val_names = {t.name for t in split_tracks(grouped, 0.3, seed=seed)[1]}
        assert ("solo1" in val_names) == ("solo2" in val_names), seed


def _with_group(annotation, group: str):
    metadata = annotation.metadata.model_dump()
    return annotation.model_copy(
        update={"metadata": type(annotation.metadata)(**metadata, group=group)}
    )


def test_split_keeps_a_track_on_each_side(tmp_path: Path, write_track) -> None:
    write_track(tmp_path, "a")
    write_track(tmp_path, "b")
    tracks = load_dataset(tmp_path).tracks
    train, val = split_tracks(tracks, val_fraction=0.01)
    assert (len(train), len(val)) == (1, 1)
    train, val = split_tracks(tracks, val_fraction=0.9)
    assert (len(train), len(val)) == (1, 1)
    assert split_tracks(tracks[:1], val_fraction=0.2) == (tracks[:1], [])
