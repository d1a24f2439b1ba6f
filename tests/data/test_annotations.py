from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edm.data.annotations import annotation_to_yaml, load_annotation, save_annotation
from edm.errors import AnnotationError


def _write_yaml(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def valid_data(make_annotation) -> dict:
    return make_annotation().model_dump(mode="json", exclude_none=True)


def test_save_then_load_gives_the_same_annotation(tmp_path: Path, make_annotation) -> None:
    annotation = make_annotation()
    path = tmp_path / "tracks" / "t1.yaml"
    save_annotation(annotation, path)
    assert load_annotation(path) == annotation
    assert not list(path.parent.glob("*.tmp"))
    text = path.read_text()
    assert "- {bar: 3, label: drop, time: 4.5, confidence: 0.9}" in text


def test_the_text_of_an_annotation_is_what_save_writes(tmp_path: Path, make_annotation) -> None:
    annotation = make_annotation()
    path = tmp_path / "t1.yaml"
    save_annotation(annotation, path)
    assert annotation_to_yaml(annotation) == path.read_text(encoding="utf-8")


def test_an_inconsistent_annotation_has_no_text(make_annotation) -> None:
    annotation = make_annotation()
    late = annotation.model_copy(
        update={"audio": annotation.audio.model_copy(update={"downbeat": 999.0})}
    )
    with pytest.raises(AnnotationError, match=r"annotation of .*audio\.downbeat"):
        annotation_to_yaml(late)


def test_annotation_without_energy_and_key_loads(tmp_path: Path, valid_data: dict) -> None:
    data = valid_data
    del data["energy"]
    annotation = load_annotation(_write_yaml(tmp_path / "t.yaml", data))
    assert annotation.energy is None and annotation.audio.key is None
    assert annotation.audio.beats_per_bar == 4
    assert annotation.audio.bar_duration == pytest.approx(2.0)


def _set(data: dict, dotted: str, value: object) -> None:
    *parents, last = dotted.split(".")
    target = data
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value


_DELETE = object()


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (
            ("structure.2.label", "dorp"),
            "structure[2].label",
            "'dorp' is not one of intro, buildup",
        ),
        (("audio.bpm", _DELETE), "audio.bpm", "is required"),
        (("audio.bpm", "fast"), "audio.bpm", "'fast'"),
        (("audio.bpm", -3), "audio.bpm", "greater than or equal to 20"),
        (("audio.bmp", 128), "audio.bmp", "is not a known field"),
        (("audio.time_signature", "4-4"), "audio.time_signature", "not a time signature"),
        (("structure.1.time", 0.2), "structure[1].time", "does not come after 0.5"),
        (("structure.2.bar", 2), "structure[2].bar", "does not come after 3"),
        (("structure.2.time", 99.0), "structure[2].time", "not before the end"),
        (("structure.0.confidence", 1.5), "structure[0].confidence", "less than or equal to 1"),
        (("energy.low", [0.1, 0.2]), "energy", "different lengths"),
        (("energy.low", [0.1, 0.2, 1.7]), "energy.low", "outside 0..1"),
        (("energy.unit", "beat"), "energy.unit", "'section' or 'bar'"),
        (("metadata.tier", 7), "metadata.tier", "less than or equal to 3"),
        (("metadata", _DELETE), "metadata", "is required"),
    ],
)
def test_bad_field_is_named_with_the_file(
    tmp_path: Path, valid_data: dict, change: tuple[str, object], field: str, problem: str
) -> None:
    data = valid_data
    _set(data, *change)
    path = _write_yaml(tmp_path / "tracks" / "t3.yaml", data)
    with pytest.raises(AnnotationError) as caught:
        load_annotation(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field '{field}': ")
    assert problem in message
    assert caught.value.field == field
    assert "\n" not in message


def test_energy_per_section_must_match_the_sections(tmp_path: Path, valid_data: dict) -> None:
    data = valid_data
    data["energy"] = {"unit": "section", "low": [0.1], "mid": [0.1], "high": [0.1]}
    with pytest.raises(AnnotationError, match=r"energy\.low.*1 values for 3 sections"):
        load_annotation(_write_yaml(tmp_path / "t.yaml", data))
    data["energy"]["unit"] = "bar"  # one value per bar: any count is fine
    assert load_annotation(_write_yaml(tmp_path / "t.yaml", data)).energy.unit == "bar"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("audio: [unclosed\n", "not valid YAML at line"),
        ("", "got empty"),
        ("- a\n- b\n", "got a list"),
        ("!!python/object/apply:os.system ['echo unsafe']\n", "not valid YAML"),
    ],
    ids=["syntax", "empty", "list", "python-tag"],
)
def test_unusable_documents_raise_annotation_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(AnnotationError, match=problem) as caught:
        load_annotation(path)
    assert str(caught.value).startswith(str(path))


def test_missing_file_raises_annotation_error(tmp_path: Path) -> None:
    with pytest.raises(AnnotationError, match="file not found"):
        load_annotation(tmp_path / "nope.yaml")


def test_save_refuses_an_inconsistent_annotation(tmp_path: Path, make_annotation) -> None:
    good = make_annotation()
    annotation = good.model_copy(update={"structure": list(reversed(good.structure))})
    with pytest.raises(AnnotationError, match=r"structure\[1\]\.time"):
        save_annotation(annotation, tmp_path / "t.yaml")
    assert not (tmp_path / "t.yaml").exists()
