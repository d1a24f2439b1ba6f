"""Labels outside the vocabulary: mapped by the dataset's table, or ignored (never silence)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from edm.data.annotations import load_annotation, save_annotation
from edm.data.label_map import mapping_report
from edm.data.targets import IGNORE_INDEX, frame_targets
from edm.errors import AnnotationError
from edm.vocabulary import LABELS, UNLABELED


def _annotator_document(labels: list[str]) -> dict:
    return {
        "metadata": {"tier": 1, "confidence": 1.0, "source": "manual"},
        "audio": {
            "file": "t.wav", "duration": 60.0, "bpm": 120.0, "downbeat": 0.0,
            "time_signature": [4, 4],
        },
        "structure": [
            {"bar": 1 + 4 * i, "label": label, "time": 8.0 * i} for i, label in enumerate(labels)
        ],
    }  # fmt: skip


def _write(folder: Path, name: str, document: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def test_a_label_no_table_maps_is_ignored_in_training_never_silence(tmp_path: Path) -> None:
    # Before: 'solo' was read as 'unlabeled' and its frames were trained as lead-in silence.
    path = _write(tmp_path, "a.yaml", _annotator_document(["intro", "solo", "drop"]))
    warnings: list[str] = []
    annotation = load_annotation(path, warnings)
    assert annotation.structure[1].label == "unknown"
    assert annotation.structure[1].source_label == "solo"
    assert "1 unmapped: ignored in training" in warnings[0]
    targets = frame_targets(annotation, 3000, 50.0)
    solo = targets.label[8 * 50 : 16 * 50]
    assert (solo == IGNORE_INDEX).all()
    assert not (targets.label == UNLABELED).any()
    assert targets.label[20 * 50] == LABELS.index("drop")


def test_the_dataset_table_beside_the_annotations_maps_their_words(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    (folder).mkdir()
    (folder / "label_map.yaml").write_text("solo: drop\nbridge: null\n", encoding="utf-8")
    path = _write(folder, "a.yaml", _annotator_document(["intro", "solo", "bridge", "chorus"]))
    annotation = load_annotation(path)
    assert [e.label for e in annotation.structure] == ["intro", "drop", "unknown", "drop"]
    report = mapping_report(annotation.structure)
    assert report["mapped"] == {"chorus": "drop", "solo": "drop"}
    assert report["unmapped"] == {"bridge": 1} and report["unmapped_total"] == 1


def test_a_bad_table_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    (folder / "label_map.yaml").write_text("solo: guitar\n", encoding="utf-8")
    path = _write(folder, "a.yaml", _annotator_document(["intro", "solo"]))
    with pytest.raises(AnnotationError, match=r"label_map\.yaml: field 'solo'"):
        load_annotation(path)


@pytest.mark.parametrize("schema", ["edm", "annotator"])
def test_the_written_label_survives_a_save(tmp_path: Path, schema: str) -> None:
    path = _write(tmp_path, "a.yaml", _annotator_document(["intro", "bridge", "solo"]))
    annotation = load_annotation(path)
    out = tmp_path / "b.yaml"
    save_annotation(annotation, out, schema=schema)  # type: ignore[arg-type]
    again = load_annotation(out)
    assert [e.label for e in again.structure] == ["intro", "breakdown", "unknown"]
    assert [e.source_label for e in again.structure] == [None, "bridge", "solo"]
    if schema == "annotator":
        written = yaml.safe_load(out.read_text(encoding="utf-8"))
        assert [e["label"] for e in written["structure"]] == ["intro", "bridge", "solo"]
