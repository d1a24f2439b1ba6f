from __future__ import annotations

import math

import numpy as np
import pytest

from edm.data.annotations import Annotation
from edm.data.targets import beat_times, downbeat_times
from edm.decoding.structure import Section, TrackStructure
from edm.evaluation.metrics import (
    METRIC_NAMES,
    aggregate,
    beat_f_measure,
    boundary_detection,
    bpm_correct,
    score_track,
)


def structure_like(
    annotation: Annotation,
    *,
    beat_shift: float = 0.0,
    bpm: float | None = None,
    starts: list[float] | None = None,
    labels: list[str] | None = None,
    energy_scale: float = 1.0,
) -> TrackStructure:
    """An estimate copied from the annotation, with chosen mistakes."""
    duration = annotation.audio.duration
    starts = starts if starts is not None else [s.time for s in annotation.structure]
    labels = labels if labels is not None else [s.label for s in annotation.structure]
    energy = annotation.energy
    assert energy is not None
    ends = [*starts[1:], duration]
    sections = [
        Section(
            start=start,
            end=end,
            label=label,
            confidence=1.0,
            energy=(
                energy_scale * energy.low[i],
                energy_scale * energy.mid[i],
                energy_scale * energy.high[i],
            ),
        )
        for i, (start, end, label) in enumerate(zip(starts, ends, labels, strict=True))
    ]
    return TrackStructure(
        bpm=annotation.audio.bpm if bpm is None else bpm,
        beats=tuple(beat_times(annotation) + beat_shift),
        downbeats=tuple(downbeat_times(annotation) + beat_shift),
        sections=sections,
        duration=duration,
    )


def test_a_perfect_estimate_scores_one_everywhere(annotation) -> None:
    scores = score_track(annotation, structure_like(annotation))
    assert set(scores) == set(METRIC_NAMES)
    for name, value in scores.items():
        assert value == pytest.approx(1.0), name


def test_beats_are_right_within_70_ms_only(annotation) -> None:
    assert score_track(annotation, structure_like(annotation, beat_shift=0.06))["beat_f"] == 1.0
    late = score_track(annotation, structure_like(annotation, beat_shift=0.08))
    assert late["beat_f"] == 0.0 and late["downbeat_f"] == 0.0


def test_beat_f_measure_of_half_the_beats() -> None:
    reference = np.arange(0.0, 60.0, 0.5)
    every_other = reference[::2]
    # Precision 1, recall 1/2 (after trimming the first 5 s from both): F = 2/3.
    assert beat_f_measure(reference, every_other) == pytest.approx(2 / 3, abs=0.01)
    assert beat_f_measure(reference, []) == 0.0


def test_boundary_hit_rate_counts_missed_and_extra_boundaries() -> None:
    reference = [1.0, 20.0, 40.0, 60.0]  # boundaries after 0: 1, 20, 40, 60
    estimate = [1.0, 20.3, 45.0, 60.0, 70.0]  # 1 and 60 hit, 20.3 hits at 0.5 s, 45 misses
    p, r, f = boundary_detection(reference, estimate, 80.0, 0.5)
    assert (p, r) == pytest.approx((3 / 5, 3 / 4))
    assert f == pytest.approx(2 * p * r / (p + r))
    assert boundary_detection(reference, estimate, 80.0, 3.0)[1] == pytest.approx(3 / 4)
    assert boundary_detection(reference, estimate, 80.0, 6.0)[0] == pytest.approx(4 / 5)


def test_a_section_starting_at_zero_is_no_boundary() -> None:
    # Only starts after 0 are boundaries: the track's start is right for free.
    assert boundary_detection([0.0, 10.0], [0.0, 10.0], 30.0, 0.5) == (1.0, 1.0, 1.0)
    assert boundary_detection([0.0, 10.0], [0.0], 30.0, 0.5)[1] == 0.0


def test_wrong_labels_lower_frame_accuracy_in_proportion(annotation) -> None:
    labels = [s.label for s in annotation.structure]
    labels[2] = "breakdown"  # the first drop (16 of the 72 annotated bars)
    scores = score_track(annotation, structure_like(annotation, labels=labels))
    assert scores["label_accuracy"] == pytest.approx(1 - 16 / 72, abs=0.01)


def test_energy_correlation_ignores_scale_but_not_shape(annotation) -> None:
    scaled = score_track(annotation, structure_like(annotation, energy_scale=0.5))
    assert scaled["energy_corr"] == pytest.approx(1.0)
    inverted = structure_like(annotation)
    inverted.sections[:] = [
        Section(s.start, s.end, s.label, s.confidence, tuple(1 - v for v in s.energy))  # type: ignore[arg-type]
        for s in inverted.sections
    ]
    assert score_track(annotation, inverted)["energy_corr"] == pytest.approx(-1.0)


@pytest.mark.parametrize(
    ("estimate", "correct"),
    [(128.0, True), (132.9, True), (123.2, True), (133.2, False), (64.0, False), (256.0, False),
     (None, False)],
)  # fmt: skip
def test_bpm_is_right_within_four_percent_and_never_at_half_or_double(estimate, correct) -> None:
    assert bpm_correct(128.0, estimate) is correct


def test_no_tempo_found_scores_zero_for_beats_and_bpm(annotation) -> None:
    estimate = structure_like(annotation)
    silent = TrackStructure(None, (), (), estimate.sections, estimate.duration)
    scores = score_track(annotation, silent)
    assert scores["beat_f"] == scores["downbeat_f"] == scores["bpm_accuracy"] == 0.0


def test_aggregate_is_the_mean_and_skips_undefined_scores() -> None:
    first = dict.fromkeys(METRIC_NAMES, 1.0)
    second = dict.fromkeys(METRIC_NAMES, 0.5) | {"energy_corr": math.nan}
    means = aggregate([first, second])
    assert means["beat_f"] == 0.75
    assert means["energy_corr"] == 1.0
    assert math.isnan(aggregate([second])["energy_corr"])


def test_octave_and_phase_errors_show_in_amlt_and_acc2_not_in_cmlt_and_acc1() -> None:
    # Issue 33: only F was reported; a double-tempo answer scored F 0.67 and nothing said why.
    from tests.structure_factories import make_annotation

    from edm.data.targets import beat_times
    from edm.decoding.structure import TrackStructure
    from edm.evaluation.metrics import score_track

    annotation = make_annotation(bpm=128.0)
    beats = beat_times(annotation)
    doubled = np.sort(np.concatenate([beats, beats[:-1] + np.diff(beats) / 2]))
    offbeat = beats + 30.0 / 128.0
    for estimate, bpm in ((doubled, 256.0), (offbeat[:-1], 128.0)):
        structure = TrackStructure(bpm, tuple(estimate), (), [], annotation.audio.duration)
        scores = score_track(annotation, structure)
        assert scores["beat_cmlt"] < 0.1 and scores["beat_amlt"] > 0.9
    structure = TrackStructure(256.0, tuple(doubled), (), [], annotation.audio.duration)
    scores = score_track(annotation, structure)
    assert scores["bpm_accuracy"] == 0.0 and scores["bpm_acc2"] == 1.0
    exact = score_track(annotation, TrackStructure(128.0, tuple(beats), (), [], 137.0))
    assert exact["beat_f"] == exact["beat_cmlt"] == exact["beat_amlt"] == 1.0
    assert exact["beat_info_gain"] == pytest.approx(1.0)


def test_the_whole_file_is_scored_lead_in_included() -> None:
    # Before: trim_beats dropped the first 5 s, so beats placed in a lead-in's silence, or
    # missed there, did not count.
    from edm.evaluation.metrics import beat_f_measure

    reference = np.arange(1.0, 60.0, 0.5)
    estimate = reference[reference >= 5.0]
    assert beat_f_measure(reference, estimate) < 0.97


def test_label_accuracy_skips_labels_outside_the_vocabulary() -> None:
    from tests.structure_factories import make_annotation

    from edm.decoding.structure import Section, TrackStructure
    from edm.evaluation.metrics import frame_scores

    annotation = make_annotation()
    structure = list(annotation.structure)
    structure[3] = structure[3].model_copy(update={"label": "unknown", "source_label": "solo"})
    annotation = annotation.model_copy(update={"structure": structure})
    ends = [e.time for e in structure[1:]] + [annotation.audio.duration]
    sections = [
        Section(e.time, end, "drop" if e.label == "unknown" else e.label, 1.0, (0.0, 0.0, 0.0))
        for e, end in zip(structure, ends, strict=True)
    ]
    estimate = TrackStructure(128.0, (), (), sections, annotation.audio.duration)
    accuracy, _ = frame_scores(annotation, estimate)
    assert accuracy == 1.0
