"""Audio kept elsewhere (--audio-dir), selection by tier and confidence, and the hash of exactly
the files used."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from edm.data.annotations import load_annotation, save_annotation
from edm.data.audio_paths import AudioFinder
from edm.data.lineage import dataset_hash
from edm.data.tracks import TrackSelection, load_dataset
from edm.errors import AnnotationError, ConfigError, DataError


def _with(annotation, *, file: str | None = None, tier: int = 1, confidence: float = 1.0):
    audio = annotation.audio.model_copy(update={"file": file or annotation.audio.file})
    metadata = annotation.metadata.model_copy(update={"tier": tier, "confidence": confidence})
    return annotation.model_copy(update={"audio": audio, "metadata": metadata})


@pytest.fixture
def split_layout(tmp_path: Path, write_track) -> tuple[Path, Path]:
    """Annotations under data/annotations/{reference,generated}, audio under music/."""
    staging = tmp_path / "staging"
    music = tmp_path / "music"
    data = tmp_path / "data" / "annotations"
    plan = {
        "a": ("reference", "/home/someone/Music/a.wav", music / "a.wav", 1, 0.9),
        "b": ("reference", "club/b.wav", music / "club" / "b.wav", 2, 0.8),
        "c": ("generated", "c.wav", music / "deep" / "er" / "c.wav", 3, 0.5),
        "d": ("generated", "d.wav", music / "d.wav", 3, 0.9),
    }
    for seed, (name, (folder, file, audio, tier, confidence)) in enumerate(plan.items()):
        yaml_path = write_track(staging, name, seed=seed)
        audio.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(staging / f"{name}.wav", audio)
        annotation = _with(load_annotation(yaml_path), file=file, tier=tier, confidence=confidence)
        save_annotation(annotation, data / folder / f"{name}.yaml", schema="annotator")
    return data, music


def test_audio_is_found_by_absolute_name_relative_path_and_name_below(
    split_layout: tuple[Path, Path],
) -> None:
    data, music = split_layout
    loaded = load_dataset(data, audio_dirs=[music])
    found = {t.name: t.audio_path for t in loaded.tracks}
    assert found == {
        "generated/c": music / "deep" / "er" / "c.wav",
        "generated/d": music / "d.wav",
        "reference/a": music / "a.wav",
        "reference/b": music / "club" / "b.wav",
    }
    assert loaded.skipped == [] and loaded.warnings == []


def test_without_the_audio_folder_each_track_is_skipped_with_its_name(
    split_layout: tuple[Path, Path],
) -> None:
    data, music = split_layout
    with pytest.raises(DataError, match="none of the 4 annotation files is usable"):
        load_dataset(data)
    shutil.copy(music / "d.wav", data / "generated" / "d.wav")  # one beside its annotation
    loaded = load_dataset(data)
    assert [t.name for t in loaded.tracks] == ["generated/d"]
    reasons = {entry.path.name: entry.reason for entry in loaded.skipped}
    assert set(reasons) == {"a.yaml", "b.yaml", "c.yaml"}
    assert reasons["a.yaml"] == (
        "field 'audio.file': audio file not found: /home/someone/Music/a.wav"
    )


def test_a_missing_audio_file_skips_that_track_only(split_layout: tuple[Path, Path]) -> None:
    data, music = split_layout
    (music / "d.wav").unlink()
    loaded = load_dataset(data, audio_dirs=[music])
    assert len(loaded.tracks) == 3
    [skipped] = loaded.skipped
    assert skipped.path == data / "generated" / "d.yaml"
    assert "audio file not found" in skipped.reason and str(music) in skipped.reason


def test_two_files_of_one_name_make_the_track_ambiguous(
    split_layout: tuple[Path, Path],
) -> None:
    data, music = split_layout
    (music / "other").mkdir()
    shutil.copy(music / "deep" / "er" / "c.wav", music / "other" / "c.wav")
    loaded = load_dataset(data, audio_dirs=[music])
    [skipped] = loaded.skipped
    assert "2 files named c.wav" in skipped.reason


def test_a_missing_audio_folder_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nowhere: audio folder not found"):
        AudioFinder([tmp_path / "nowhere"])


def test_windows_paths_are_looked_for_by_their_parts(tmp_path: Path) -> None:
    (tmp_path / "music" / "club").mkdir(parents=True)
    (tmp_path / "music" / "club" / "x.flac").write_bytes(b"")
    finder = AudioFinder([tmp_path / "music"])
    annotation = tmp_path / "ann" / "x.yaml"
    assert (
        finder.find(annotation, "C:\\music\\club\\x.flac") == tmp_path / "music" / "club" / "x.flac"
    )
    with pytest.raises(AnnotationError, match=r"audio\.file"):
        finder.find(annotation, "y.flac")


def test_selection_by_tier_and_confidence(split_layout: tuple[Path, Path]) -> None:
    data, music = split_layout
    every = load_dataset(data, audio_dirs=[music])
    assert every.tier_counts() == {1: 1, 2: 1, 3: 2}
    best = load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_tier=2))
    assert [t.name for t in best.tracks] == ["reference/a", "reference/b"]
    assert [t.name for t in best.excluded] == ["generated/c", "generated/d"]
    assert best.tier_counts() == {1: 1, 2: 1, 3: 0}
    sure = load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_confidence=0.85))
    assert [t.name for t in sure.tracks] == ["generated/d", "reference/a"]
    both = TrackSelection(min_tier=2, min_confidence=0.85)
    assert [t.name for t in load_dataset(data, audio_dirs=[music], selection=both).tracks] == [
        "reference/a"
    ]
    with pytest.raises(DataError, match="none of the 4 usable tracks is tier 1 or better and"):
        load_dataset(
            data, audio_dirs=[music], selection=TrackSelection(min_tier=1, min_confidence=0.95)
        )
    with pytest.raises(ConfigError, match="--min-tier must be 1, 2 or 3"):
        TrackSelection(min_tier=4)
    with pytest.raises(ConfigError, match="--min-confidence"):
        TrackSelection(min_confidence=1.5)


def _expected_hash(files: dict[str, Path]) -> str:
    entries = sorted(
        ({"md5": hashlib.md5(p.read_bytes()).hexdigest(), "relpath": r} for r, p in files.items()),
        key=lambda e: e["relpath"],
    )
    listing = json.dumps(entries, sort_keys=True).encode()
    return hashlib.md5(listing).hexdigest() + ".dir"


def test_the_hash_covers_exactly_the_files_used(split_layout: tuple[Path, Path]) -> None:
    data, music = split_layout
    loaded = load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_tier=2))
    assert loaded.files_hash() == _expected_hash(
        {
            "reference/a.yaml": data / "reference" / "a.yaml",
            "reference/b.yaml": data / "reference" / "b.yaml",
            "@audio/a.wav": music / "a.wav",
            "@audio/club/b.wav": music / "club" / "b.wav",
        }
    )
    before = loaded.files_hash()
    # A file that is not used changes nothing; one that is used changes the hash.
    (music / "deep" / "er" / "c.wav").write_bytes(b"changed")
    (data / "README.md").write_text("notes")
    again = load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_tier=2))
    assert again.files_hash() == before
    with (music / "a.wav").open("ab") as handle:
        handle.write(b"\0\0")
    assert (
        load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_tier=2)).files_hash()
        != before
    )


def test_with_audio_beside_and_nothing_else_it_is_dvcs_folder_hash(
    tmp_path: Path, write_track
) -> None:
    data = tmp_path / "data"
    write_track(data, "a")
    write_track(data / "sub", "b", seed=1)
    assert load_dataset(data).files_hash() == dataset_hash(data)


def test_data_check_selects_and_prints_the_hash_of_the_files_used(
    split_layout: tuple[Path, Path], run_edm
) -> None:
    data, music = split_layout
    result = run_edm("data", "check", str(data), "--audio-dir", str(music), "--min-tier", "2")
    assert result.exit_code == 0, result.stderr
    assert "2 usable tracks" in result.stdout and "tier 1: 1, tier 2: 1" in result.stdout
    assert "2 more left out: not tier 2 or better" in result.stdout
    expected = load_dataset(data, audio_dirs=[music], selection=TrackSelection(min_tier=2))
    assert f"Dataset hash of the files used: {expected.files_hash()}" in result.stdout
    assert result.stderr == ""

    missing = run_edm("data", "check", str(data), "--audio-dir", str(music / "nope"))
    assert missing.exit_code == 1 and "nope: audio folder not found" in missing.stderr
    bad_tier = run_edm("data", "check", str(data), "--min-tier", "4")
    assert bad_tier.exit_code == 2 and "--min-tier" in bad_tier.stderr
