"""The evaluation-only generator: valid annotations from its own arrangement, rules the
training generator does not have, the same files for the same seed, and none of edm.synth."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import soundfile as sf
from tests.import_reading import imports_in, is_within, modules_after_import

from edm.benchmarks import render_track, write_other_music
from edm.benchmarks.arrangement import draw_arrangement
from edm.data.tracks import load_dataset

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "edm" / "benchmarks"


def test_tracks_load_as_a_dataset_with_valid_annotations(tmp_path: Path) -> None:
    written = write_other_music(tmp_path, 2, seed=3)
    loaded = load_dataset(tmp_path)
    assert [t.name for t in loaded.tracks] == ["other_000", "other_001"]
    assert loaded.skipped == []
    for track, wav in zip(loaded.tracks, written, strict=True):
        annotation = track.annotation
        assert annotation.problems() == []
        audio, rate = sf.read(wav)
        assert rate == 22050 and abs(len(audio) / rate - annotation.audio.duration) < 1e-3
        first = annotation.structure[0]
        assert first.bar == 1 and first.time == annotation.audio.downbeat
        # The annotated starts are where the arrangement's sections start, on its bar grid.
        bar_s = 4 * 60.0 / annotation.audio.bpm
        for entry in annotation.structure:
            assert abs(entry.time - (first.time + (entry.bar - 1) * bar_s)) < 1e-5


def test_section_energy_is_measured_on_its_own_audio() -> None:
    """A section's energy comes from its own audio: a silent section would read zero."""
    track = render_track("probe", seed=11)
    energy = track.annotation.energy
    assert energy is not None
    assert len(energy.low) == len(track.annotation.structure)
    assert max(energy.low) == 1.0 and max(energy.mid) == 1.0 and max(energy.high) == 1.0
    assert np.abs(track.samples).max() <= 0.91


def test_its_rules_are_not_the_training_generators() -> None:
    rng = np.random.default_rng(0)
    arrangements = [draw_arrangement(rng, 118, 150) for _ in range(40)]
    lengths = {s.bars for a in arrangements for s in a.sections}
    assert lengths - {8, 16, 32}  # sections not on the 8-bar phrase grid
    transitions = {s.transition for a in arrangements for s in a.sections}
    assert {"riser", "fill", "filter", "gap"} <= transitions
    forms = {tuple(s.label for s in a.sections) for a in arrangements}
    assert any("buildup" not in form for form in forms)  # a drop with no buildup before it
    assert any(pair == ("drop", "drop") for form in forms for pair in itertools.pairwise(form))


def test_the_same_seed_gives_the_same_files(tmp_path: Path) -> None:
    first = write_other_music(tmp_path / "a", 1, seed=5)[0]
    second = write_other_music(tmp_path / "b", 1, seed=5)[0]
    assert first.read_bytes() == second.read_bytes()
    assert first.with_suffix(".yaml").read_text() == second.with_suffix(".yaml").read_text()


def test_it_shares_no_code_with_the_training_generator() -> None:
    for path in PACKAGE.glob("*.py"):
        assert not any(is_within(name, "edm.synth") for name in imports_in(path)), path.name
    assert not any(is_within(name, "edm.synth") for name in modules_after_import("edm.benchmarks"))


def test_edm_data_other_music_writes_the_tracks_and_refuses_an_empty_tempo_range(
    run_edm, tmp_path: Path
) -> None:
    done = run_edm("data", "other-music", str(tmp_path / "other"), "--tracks", "1", "--json")
    assert done.exit_code == 0, done.stderr
    assert [Path(p).name for p in json.loads(done.stdout)["tracks"]] == ["other_000.wav"]
    assert (tmp_path / "other" / "other_000.yaml").is_file()
    bad = run_edm(
        "data", "other-music", str(tmp_path / "bad"), "--min-bpm", "150", "--max-bpm", "120"
    )
    assert bad.exit_code == 1
    assert "tempo range 150.0..120.0 BPM is empty" in bad.stderr
    assert not (tmp_path / "bad").exists()
