"""Hostile annotation files (issue 12 item 6): each is skipped with its name and field, the rest
of the folder is used, and nothing crashes the check or the training."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edm.data.annotations import load_annotation
from edm.data.tracks import load_dataset
from edm.data.yaml_io import MAX_BYTES, MAX_DEPTH
from edm.errors import AnnotationError

GOOD = """\
audio: {file: t.wav, duration: 10.0, bpm: 120.0, downbeat: 0.5, time_signature: 4/4}
structure:
  - {bar: 1, label: intro, time: 0.5}
  - {bar: 3, label: drop, time: 4.5}
metadata: {tier: 1, confidence: 1.0, source: test}
"""


def _nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


CASES = [
    (GOOD.replace("bpm: 120.0", "bpm: " + "9" * 5000), "audio.bpm", "integer of 5000 digits"),
    (GOOD.replace("bar: 3", "bar: 1" + "0" * 40), "structure[1].bar", "integer of 41 digits"),
    (GOOD.replace("tier: 1", "tier: 0x" + "f" * 30), "metadata.tier", "integer of 30 digits"),
    (GOOD.replace("source: test", "source: " + _nested(3000)), "metadata.source", "nested more"),
    (GOOD.replace("source: test", "source: test, x: " + _nested(MAX_DEPTH)), "metadata.x",
     "nested more"),
    (GOOD.replace("duration: 10.0", "duration: .inf"), "audio.duration", "finite number"),
    (GOOD.replace("duration: 10.0", "duration: 1e9"), "audio.duration", "less than or equal"),
    (GOOD.replace("duration: 10.0", "duration: .nan"), "audio.duration", "finite number"),
    (GOOD.replace("time: 4.5", "time: -.inf"), "structure[1].time", "finite number"),
    (GOOD.replace("bpm: 120.0", "bpm: 1e400"), "audio.bpm", "finite number"),
    (GOOD.replace("bpm: 120.0", "bpm: 4"), "audio.bpm", "greater than or equal to 20"),
    (GOOD.replace("confidence: 1.0", "confidence: .nan"), "metadata.confidence", "finite"),
    ("a: &x [1, 2]\nb: [*x, *x]\n" + GOOD, "b[0]", "alias *x of a list or mapping"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "field", "problem"), CASES)
def test_a_hostile_value_is_refused_naming_file_and_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text)
    with pytest.raises(AnnotationError) as caught:
        load_annotation(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field '{field}': "), message[:300]
    assert problem in message, message[:300]
    assert len(message) < 300


def test_an_oversized_file_is_refused_without_being_parsed(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(GOOD + "# " + "x" * MAX_BYTES + "\n")
    with pytest.raises(AnnotationError, match=r"field '\(document\)'.*over the"):
        load_annotation(path)


def test_scalar_aliases_and_nesting_within_the_limit_are_fine(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    text = GOOD.replace("confidence: 1.0", "confidence: &c 1.0, extra: [[[1]]], again: *c")
    path.write_text(text)
    assert load_annotation(path).metadata.confidence == 1.0


def test_hostile_files_are_skipped_and_the_rest_of_the_folder_is_used(
    tmp_path: Path, write_track
) -> None:
    data = tmp_path / "data"
    write_track(data, "good_a")
    write_track(data, "good_b")
    for i, (text, _, _) in enumerate(CASES):
        (data / f"hostile_{i:02d}.yaml").write_text(text)
    loaded = load_dataset(data)
    assert [t.name for t in loaded.tracks] == ["good_a", "good_b"]
    assert len(loaded.skipped) == len(CASES)
    for entry, (_, field, _) in zip(loaded.skipped, CASES, strict=True):
        assert f"field '{field}'" in entry.reason


def test_the_guard_reads_what_yaml_reads(tmp_path: Path) -> None:
    # Keys in flow and block style, sequences of mappings, multi-line strings: same result.
    text = GOOD + "energy:\n  unit: section\n  low: [0.1, 0.2]\n  mid:\n    - 0.3\n    - 0.4\n"
    text += "  high: [0.5, 0.6]\n"
    path = tmp_path / "t.yaml"
    path.write_text(text)
    annotation = load_annotation(path)
    assert annotation.energy is not None and annotation.energy.mid == [0.3, 0.4]
    assert yaml.safe_load(text)["energy"]["high"] == annotation.energy.high
