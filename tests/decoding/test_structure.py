from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.structure_factories import activations_from

from edm.data.annotations import load_annotation, save_annotation
from edm.data.targets import beat_times
from edm.decoding.decode import decode_structure
from edm.decoding.structure import TrackStructure
from edm.errors import DataError


def test_the_annotation_of_a_decoded_track_loads_back_and_trains(annotation, tmp_path) -> None:
    structure = decode_structure(activations_from(annotation))
    written = structure.to_annotation("track.wav", source="edm analyze", model="version 3")
    path = tmp_path / "track.yaml"
    save_annotation(written, path)
    loaded = load_annotation(path)
    assert loaded == written
    assert loaded.metadata.tier == 3 and loaded.metadata.model == "version 3"  # type: ignore[attr-defined]
    assert loaded.audio.bpm == pytest.approx(128.0, abs=0.01)
    assert loaded.audio.downbeat == pytest.approx(annotation.audio.downbeat, abs=0.02)
    assert [(s.bar, s.label) for s in loaded.structure] == [
        (s.bar, s.label) for s in annotation.structure
    ]
    # The grid the trainer rebuilds from bpm and downbeat is the decoded one.
    assert len(beat_times(loaded)) == len(structure.beats)
    assert max(abs(a - b) for a, b in zip(beat_times(loaded), structure.beats, strict=True)) < 0.02
    assert loaded.energy is not None and len(loaded.energy.low) == len(loaded.structure)


def test_to_dict_is_json_with_rounded_times(annotation) -> None:
    structure = decode_structure(activations_from(annotation))
    data = json.loads(json.dumps(structure.to_dict()))
    assert data["bpm"] == pytest.approx(128.0, abs=0.01)
    assert data["time_signature"] == "4/4"
    assert len(data["beats"]) == len(structure.beats)
    first = data["sections"][0]
    assert set(first) == {"start", "end", "label", "confidence", "energy"}
    assert set(first["energy"]) == {"low", "mid", "high"}


def test_no_annotation_without_a_tempo(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"silence\.wav: no beat"):
        TrackStructure(None, (), (), [], 10.0).to_annotation("silence.wav")
