"""The spec project's annotation form: read from hand-written fixtures, written, round trips."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from edm.data.annotations import (
    Annotation,
    Energy,
    annotation_to_yaml,
    load_annotation,
    parse_annotation,
    save_annotation,
)
from edm.data.annotator_schema import is_annotator_form, model_source
from edm.errors import AnnotationError

FIXTURES = Path(__file__).parent / "fixtures" / "annotator" / "annotations"
NIGHT_DRIVE = FIXTURES / "reference" / "night_drive.yaml"
SUNRISE = FIXTURES / "reference" / "sunrise.yaml"
WAREHOUSE = FIXTURES / "generated" / "warehouse.yaml"
AFTERGLOW = FIXTURES / "generated" / "afterglow.yaml"


def _raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_every_optional_field_of_the_annotator_form_is_read() -> None:
    warnings: list[str] = []
    annotation = load_annotation(NIGHT_DRIVE, warnings)
    assert warnings == []
    audio = annotation.audio
    assert (audio.time_signature, audio.beats_per_bar, audio.key) == ("4/4", 4, "8A")
    assert audio.file == "/home/alice/Music/night_drive.wav"
    assert [s.label for s in annotation.structure][:3] == ["intro", "buildup", "drop"]
    assert annotation.structure[2].confidence == 0.95
    energy = annotation.energy
    assert energy is not None and energy.unit == "section"
    assert energy.low == [0.31, 0.64, 1.0, 0.1, 0.85, 1.0, 0.79]  # their "bass"
    assert energy.mid[3] == 0.87 and energy.high[1] == 1.0
    assert energy.overall == 0.68
    assert [(c.boundary, c.delta) for c in energy.at_boundaries or []] == [
        (2, 0.45), (3, -0.8), (5, 0.6), (6, -0.35),
    ]  # fmt: skip
    metadata = annotation.metadata
    assert (metadata.tier, metadata.confidence, metadata.source) == (1, 0.95, "manual")
    assert metadata.created == datetime(2025, 3, 1, 10, 30, tzinfo=UTC)
    assert metadata.modified == datetime(2025, 3, 2, 8, 15, tzinfo=UTC)
    assert metadata.verified_by == "alice" and metadata.flags == ["high_confidence"]
    assert metadata.notes == "Intro boundary moved onto the first kick"
    assert metadata.validation is not None and metadata.validation.cue_points_snapped is True


def test_by_section_out_of_order_is_put_in_structure_order() -> None:
    energy = load_annotation(SUNRISE).energy
    assert energy is not None
    assert energy.low == [0.8, 0.8, 1.0, 0.04, 0.0, 1.0, 0.85]
    assert energy.high[0] == 0.13 and energy.high[-1] == 0.15


def test_a_three_four_signature_and_a_mapped_label_give_one_warning() -> None:
    # Before issue 33 'bridge' was read as 'unlabeled', the silence class, and trained on.
    warnings: list[str] = []
    annotation = load_annotation(WAREHOUSE, warnings)
    assert annotation.audio.time_signature == "3/4" and annotation.audio.beats_per_bar == 3
    assert annotation.structure[3].label == "breakdown"
    assert annotation.structure[3].source_label == "bridge"
    assert warnings == ["section label 'bridge' (structure[3]) read as 'breakdown'"]


def test_energy_for_some_sections_only_is_left_out_with_a_warning() -> None:
    warnings: list[str] = []
    annotation = load_annotation(AFTERGLOW, warnings)
    assert annotation.energy is None
    assert warnings == ["energy.by_section covers 2 of 7 sections: energy not used"]


def test_the_form_is_detected_per_document() -> None:
    assert all(is_annotator_form(_raw(p)) for p in (NIGHT_DRIVE, SUNRISE, WAREHOUSE, AFTERGLOW))
    ours = yaml.safe_load(annotation_to_yaml(load_annotation(NIGHT_DRIVE)))
    assert not is_annotator_form(ours)
    assert ours["audio"]["time_signature"] == "4/4" and "low" in ours["energy"]


@pytest.mark.parametrize("source", [NIGHT_DRIVE, SUNRISE, WAREHOUSE, AFTERGLOW])
@pytest.mark.parametrize("schema", ["edm", "annotator"])
def test_a_file_written_in_either_form_reads_back_the_same(
    tmp_path: Path, source: Path, schema: str
) -> None:
    annotation = load_annotation(source)
    path = tmp_path / f"{schema}.yaml"
    save_annotation(annotation, path, schema=schema)  # type: ignore[arg-type]
    again = load_annotation(path)
    assert again == annotation
    assert is_annotator_form(_raw(path)) == (schema == "annotator")
    # And the text is stable: writing what was read gives the same file.
    assert annotation_to_yaml(again, schema=schema) == path.read_text(encoding="utf-8")  # type: ignore[arg-type]


def test_ours_round_trips_in_the_annotator_form(make_annotation) -> None:
    annotation = make_annotation()
    text = annotation_to_yaml(annotation, schema="annotator")
    document = yaml.safe_load(text)
    assert document["audio"]["time_signature"] == [4, 4]
    assert document["energy"]["by_section"][1] == {
        "section": 1,
        "bass": 1.0,
        "mid": 0.9,
        "high": 0.8,
    }
    assert list(document) == ["metadata", "audio", "structure", "energy"]
    assert parse_annotation(document, "doc") == annotation


def test_energy_per_bar_is_averaged_over_each_section_in_the_annotator_form(
    make_annotation,
) -> None:
    annotation: Annotation = make_annotation()  # sections start at bars 1, 3 and 5
    per_bar = Energy(unit="bar", low=[0.2, 0.4, 1.0, 0.8, 0.5], mid=[0.0] * 5, high=[1.0] * 5)
    annotation = annotation.model_copy(update={"energy": per_bar})
    document = yaml.safe_load(annotation_to_yaml(annotation, schema="annotator"))
    assert [s["bass"] for s in document["energy"]["by_section"]] == [0.3, 0.9, 0.5]


@pytest.mark.parametrize(
    ("change", "field", "problem"),
    [
        (("audio", "time_signature", [4]), "audio.time_signature", "two whole numbers"),
        (("audio", "time_signature", [4, "4"]), "audio.time_signature", "two whole numbers"),
        (("audio", "time_signature", [4, 5]), "audio.time_signature", "not a time signature"),
        (("audio", "time_signature", [0, 4]), "audio.time_signature", "not a time signature"),
        (("energy", "by_section", [{"section": 9, "bass": 0, "mid": 0, "high": 0}]),
         "energy.by_section[0].section", "is not a structure index (0..6)"),
        (("energy", "by_section", [{"section": 0, "bass": 2, "mid": 0, "high": 0}]),
         "energy.by_section[0].bass", "less than or equal to 1"),
        (("energy", "by_section", [{"section": 0, "bass": 0, "mid": 0, "treble": 0}]),
         "energy.by_section[0].high", "is required"),
        (("energy", "at_boundaries", [{"boundary": 1, "delta": -1.5}]),
         "energy.at_boundaries[0].delta", "greater than or equal to -1"),
        (("energy", "at_boundaries", [{"boundary": 7, "delta": 0.5}]),
         "energy.at_boundaries[0].boundary", "is not a structure index"),
        (("energy", "peak", 1.0), "energy.peak", "is not a known field"),
        (("metadata", "tier", 4), "metadata.tier", "less than or equal to 3"),
        (("metadata", "created", "last tuesday"), "metadata.created", "datetime"),
        (("metadata", "flags", "needs_review"), "metadata.flags", "valid list"),
        (("audio", "duration", None), "audio.duration", "valid number"),
    ],
)  # fmt: skip
def test_a_really_wrong_annotator_file_is_refused_naming_file_and_field(
    tmp_path: Path, change: tuple[str, str, object], field: str, problem: str
) -> None:
    data = copy.deepcopy(_raw(NIGHT_DRIVE))
    section, key, value = change
    data[section][key] = value
    path = tmp_path / "annotations" / "bad.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(AnnotationError) as caught:
        load_annotation(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: field '{field}': "), message
    assert problem in message, message


def test_a_label_we_do_not_know_is_still_refused_in_our_form(tmp_path: Path) -> None:
    text = annotation_to_yaml(load_annotation(NIGHT_DRIVE)).replace("label: outro", "label: outr")
    with pytest.raises(AnnotationError, match=r"structure\[6\]\.label'.*'outr' is not one of"):
        parse_annotation(yaml.safe_load(text), "ours.yaml")


def test_model_source_is_one_the_annotator_accepts() -> None:
    assert model_source("edm-structure", 3, "best") == "ml_model_edm-structure_v3"
    assert model_source(None, None, "my model (old)") == "ml_model_my_model_old"


@pytest.mark.slow  # decoding a whole track: about 5 s here
def test_what_analyze_finds_round_trips_in_the_annotator_form(tmp_path: Path) -> None:
    from tests.structure_factories import activations_from, make_annotation

    from edm.decoding.decode import decode_structure

    structure = decode_structure(activations_from(make_annotation()))
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    written = structure.to_annotation(
        "../audio/track.wav",
        source=model_source("edm-structure-detector", 4, "best"),
        created=now,
        modified=now,
        notes="edm analyze with version 4",
        flags=["needs_review"],
    )
    path = tmp_path / "generated" / "track.yaml"
    save_annotation(written, path, schema="annotator")
    document = _raw(path)
    assert document["metadata"]["tier"] == 3
    assert document["metadata"]["source"] == "ml_model_edm-structure-detector_v4"
    assert document["metadata"]["flags"] == ["needs_review"]
    assert document["metadata"]["created"] == now
    assert document["audio"]["time_signature"] == [4, 4]
    assert len(document["energy"]["by_section"]) == len(document["structure"])
    assert load_annotation(path) == written
