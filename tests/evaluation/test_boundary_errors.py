from __future__ import annotations

from dataclasses import replace

import pytest
from tests.evaluation.test_metrics import structure_like
from tests.structure_factories import make_annotation

from edm.evaluation.boundary_errors import boundary_errors, summarise
from edm.evaluation.metrics import score_track


@pytest.fixture
def mistaken():  # type: ignore[no-untyped-def]
    """Sections at 1.3 16.3 31.3 61.3 76.3 91.3 121.3 s (intro buildup drop breakdown buildup
    drop outro); the estimate misses the first drop, puts the breakdown 1 s late and splits
    the second drop at 100 s."""
    annotation = make_annotation()
    starts = [1.3, 16.3, 62.3, 76.3, 91.3, 100.0, 121.3]
    labels = ["intro", "buildup", "breakdown", "buildup", "drop", "breakdown", "outro"]
    estimate = structure_like(annotation, starts=starts, labels=labels)
    return annotation, estimate


def test_missed_and_extra_boundaries_at_three_seconds(mistaken) -> None:  # type: ignore[no-untyped-def]
    annotation, estimate = mistaken
    assert boundary_errors(annotation, estimate, 3.0) == [
        {
            "kind": "missed",
            "time": 31.3,
            "transition": "buildup → drop",
            "reference_section": "drop",
            "decoded_section": "buildup",
            "nearest_other": 16.3,
            "offset": -15.0,
        },
        {
            "kind": "extra",
            "time": 100.0,
            "transition": "drop → breakdown",
            "reference_section": "drop",
            "decoded_section": "breakdown",
            "nearest_other": 91.3,
            "offset": -8.7,
        },
    ]


def test_a_late_boundary_is_missed_and_extra_at_half_a_second(mistaken) -> None:  # type: ignore[no-untyped-def]
    annotation, estimate = mistaken
    errors = boundary_errors(annotation, estimate, 0.5)
    late = [e for e in errors if 61 < e["time"] < 63]
    assert [(e["kind"], e["transition"], e["offset"]) for e in late] == [
        ("missed", "drop → breakdown", 1.0),
        ("extra", "buildup → breakdown", -1.0),
    ]
    assert summarise(errors) == {
        "missed": {"buildup → drop": 1, "drop → breakdown": 1},
        "extra": {"buildup → breakdown": 1, "drop → breakdown": 1},
    }


@pytest.mark.parametrize("window", [0.5, 3.0])
def test_the_errors_are_what_precision_and_recall_count(mistaken, window: float) -> None:  # type: ignore[no-untyped-def]
    annotation, estimate = mistaken
    scores = score_track(annotation, estimate)
    errors = boundary_errors(annotation, estimate, window)
    n_reference, n_estimate = len(annotation.structure), len(estimate.sections)
    missed = sum(e["kind"] == "missed" for e in errors)
    extra = sum(e["kind"] == "extra" for e in errors)
    assert scores[f"boundary_r_{window:g}"] == pytest.approx(1 - missed / n_reference)
    assert scores[f"boundary_p_{window:g}"] == pytest.approx(1 - extra / n_estimate)


def test_a_perfect_estimate_has_no_errors_and_an_empty_one_misses_all() -> None:
    annotation = make_annotation()
    assert boundary_errors(annotation, structure_like(annotation), 0.5) == []
    empty = replace(structure_like(annotation), sections=[])
    errors = boundary_errors(annotation, empty, 3.0)
    assert [e["kind"] for e in errors] == ["missed"] * len(annotation.structure)
    assert errors[0]["transition"] == "unlabeled → intro"
    assert errors[0]["nearest_other"] is None and errors[0]["decoded_section"] == "unlabeled"
