"""The drift reference document: a round trip, and one clear error per kind of bad file."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edm.errors import DataError
from edm.monitoring.descriptors import FEATURES
from edm.monitoring.reference import DriftReference


def test_round_trip_keeps_every_value_and_nan(tmp_path: Path) -> None:
    rows = [dict.fromkeys(FEATURES, 1.0) | {"bpm": 128.0}, dict.fromkeys(FEATURES, 2.0)]
    rows[1]["bpm"] = math.nan  # a track without a beat
    reference = DriftReference.from_tracks(rows, model="version 1", data_dir="data/test")
    path = reference.write(tmp_path / "ref.json")
    document = json.loads(path.read_text())
    assert document["format"] == "edm-drift-reference" and document["version"] == 1
    assert document["n_tracks"] == 2 and document["features"]["bpm"] == [128.0, None]
    assert list(document["features"]) == list(FEATURES)
    loaded = DriftReference.read(path)
    assert loaded.model == "version 1" and loaded.created == reference.created
    assert loaded.features["bpm"][0] == 128.0 and math.isnan(loaded.features["bpm"][1])
    assert loaded.features["loudness"] == [1.0, 2.0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"format": "other"}', "not an edm drift reference"),
        ('{"format": "edm-drift-reference", "version": 9, "features": {}}', "version 9"),
        ('{"format": "edm-drift-reference", "version": 1, "features": {}}', "'features'"),
        (
            '{"format": "edm-drift-reference", "version": 1, "features": {"bpm": 3}}',
            "features.bpm must be a list",
        ),
        (
            '{"format": "edm-drift-reference", "version": 1, "features": {"bpm": ["x"]}}',
            "features.bpm holds a value",
        ),
    ],
)
def test_bad_documents_name_the_file_and_the_problem(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(DataError, match=words) as caught:
        DriftReference.read(path)
    assert str(path) in str(caught.value)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such drift reference file"):
        DriftReference.read(tmp_path / "absent.json")
