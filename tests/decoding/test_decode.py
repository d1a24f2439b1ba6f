from __future__ import annotations

import numpy as np
import pytest
from tests.structure_factories import FPS, activations_from, make_annotation

from edm.data.targets import beat_times, downbeat_times
from edm.decoding.activations import FrameActivations
from edm.decoding.decode import (
    decode_boundaries,
    decode_downbeats,
    decode_structure,
    describe_sections,
    music_start,
)
from edm.decoding.tempo import estimate_beat_grid
from edm.errors import ModelError
from edm.evaluation.metrics import score_track
from edm.vocabulary import LABELS


def test_perfect_activations_decode_to_the_annotation(annotation) -> None:
    structure = decode_structure(activations_from(annotation))
    assert structure.bpm == pytest.approx(128.0, rel=1e-3)
    assert np.abs(np.array(structure.beats) - beat_times(annotation)).max() < 0.021
    assert np.abs(np.array(structure.downbeats) - downbeat_times(annotation)).max() < 0.021
    assert [s.label for s in structure.sections] == [s.label for s in annotation.structure]
    starts = [s.start for s in structure.sections]
    assert np.abs(np.array(starts) - [s.time for s in annotation.structure]).max() < 0.021
    assert structure.sections[-1].end == pytest.approx(annotation.audio.duration, abs=0.03)
    drop = structure.sections[2]
    assert drop.energy == pytest.approx((1.0, 0.8, 0.5), abs=0.02)
    assert drop.confidence == pytest.approx(0.88, abs=0.01)
    scores = score_track(annotation, structure)
    assert scores["beat_f"] == scores["downbeat_f"] == scores["boundary_f_0.5"] == 1.0
    assert scores["label_accuracy"] > 0.99 and scores["bpm_accuracy"] == 1.0
    assert scores["energy_corr"] > 0.99


def test_noisy_activations_still_decode_well() -> None:
    annotation = make_annotation(bpm=174.0, downbeat=0.4)
    structure = decode_structure(activations_from(annotation, noise=0.25, seed=5))
    scores = score_track(annotation, structure)
    assert structure.bpm == pytest.approx(174.0, rel=1e-3)
    assert scores["beat_f"] > 0.99 and scores["downbeat_f"] > 0.99  # an edge beat may differ
    assert scores["boundary_f_0.5"] == 1.0


def test_downbeats_follow_the_phase_with_most_downbeat_activation(annotation) -> None:
    activations = activations_from(annotation)
    grid = estimate_beat_grid(activations.beat, FPS)
    assert grid is not None
    beats = grid.frames(activations.n_frames)
    downbeats = decode_downbeats(activations.downbeat, beats)
    assert np.allclose(downbeats / FPS, downbeat_times(annotation), atol=0.021)
    # Move the downbeat evidence one beat later: the bar lines move with it.
    moved = decode_downbeats(np.roll(activations.downbeat, round(grid.period)), beats)
    later = downbeats + grid.period
    assert all(np.abs(later - frame).min() < 1.0 for frame in moved[1:-1])


def test_boundaries_snap_to_bar_lines_and_keep_a_minimum_section_length(annotation) -> None:
    activations = activations_from(annotation)
    grid = estimate_beat_grid(activations.beat, FPS)
    assert grid is not None
    downbeats = decode_downbeats(activations.downbeat, grid.frames(activations.n_frames))
    boundary = np.zeros(activations.n_frames)
    true_drop = round(annotation.structure[2].time * FPS)
    boundary[true_drop + 9] = 0.9  # 180 ms late: snapped back onto the bar line
    boundary[true_drop + round(grid.period * 4)] = 0.8  # one bar later: too close, dropped
    flat_label = _one_label_after_the_start(activations.label, "drop")
    blurred = FrameActivations(  # nothing else changes: the boundary activation decides
        frame_rate=FPS,
        beat=activations.beat,
        downbeat=activations.downbeat,
        boundary=boundary,
        energy=np.full_like(activations.energy, 0.5),
        label=flat_label,
    )
    starts = decode_boundaries(blurred, downbeats, grid)
    assert starts == [round(annotation.structure[0].time * FPS), true_drop]


def _one_label_after_the_start(label: np.ndarray, name: str) -> np.ndarray:
    """The same "unlabeled" lead-in, then ``name`` everywhere: labels say nothing of sections."""
    lead_in = label[LABELS.index("unlabeled")] > 0.5
    flat = np.zeros_like(label)
    flat[LABELS.index(name)] = 1.0
    flat[:, lead_in] = label[:, lead_in]
    return flat


def test_weak_boundary_peaks_alone_make_no_sections(annotation) -> None:
    activations = activations_from(annotation)
    flat_label = _one_label_after_the_start(activations.label, "drop")
    weak = FrameActivations(
        frame_rate=FPS,
        beat=activations.beat,
        downbeat=activations.downbeat,
        boundary=activations.boundary * 0.2,
        energy=np.full_like(activations.energy, 0.5),
        label=flat_label,
    )
    structure = decode_structure(weak)
    assert len(structure.sections) == 1  # only the music's start


def test_music_starts_where_unlabeled_ends(annotation) -> None:
    activations = activations_from(annotation)
    assert music_start(activations) == round(annotation.structure[0].time * FPS)


def test_a_short_beatless_lead_in_is_no_section_even_if_the_labels_miss_it(annotation) -> None:
    activations = activations_from(annotation)
    label = activations.label.copy()
    label[:, : round(annotation.structure[0].time * FPS)] = label[:, -1:]  # "outro" from 0 s
    unsure = FrameActivations(
        frame_rate=FPS,
        beat=activations.beat * (np.arange(activations.n_frames) >= 60),  # silent lead-in
        downbeat=activations.downbeat,
        boundary=activations.boundary,
        energy=activations.energy,
        label=label,
    )
    structure = decode_structure(unsure)
    assert structure.sections[0].start == pytest.approx(annotation.structure[0].time, abs=0.021)


def test_each_section_gets_its_most_probable_label_never_unlabeled() -> None:
    n = 500
    label = np.zeros((len(LABELS), n))
    label[LABELS.index("unlabeled")] = 0.6  # the model is unsure everywhere...
    label[LABELS.index("drop"), :250] = 0.3  # ...but drop beats the other labels here
    label[LABELS.index("breakdown"), 250:] = 0.35
    activations = FrameActivations(
        frame_rate=FPS,
        beat=np.zeros(n),
        downbeat=np.zeros(n),
        boundary=np.zeros(n),
        energy=np.full((3, n), 0.5),
        label=label,
    )
    sections = describe_sections(activations, [0, 250])
    assert [s.label for s in sections] == ["drop", "breakdown"]
    assert sections[0].confidence == pytest.approx(0.3)
    assert sections[1].end == pytest.approx(n / FPS)


def test_silence_gives_no_beats_and_one_section() -> None:
    n = 1000
    label = np.zeros((len(LABELS), n))
    label[LABELS.index("intro")] = 1.0
    activations = FrameActivations(
        frame_rate=FPS,
        beat=np.zeros(n),
        downbeat=np.zeros(n),
        boundary=np.zeros(n),
        energy=np.zeros((3, n)),
        label=label,
    )
    structure = decode_structure(activations)
    assert structure.bpm is None and structure.beats == () and structure.downbeats == ()
    assert [(s.start, s.label) for s in structure.sections] == [(0.0, "intro")]


def test_activations_of_the_wrong_shape_are_refused() -> None:
    with pytest.raises(ModelError, match="energy"):
        FrameActivations(
            frame_rate=FPS,
            beat=np.zeros(10),
            downbeat=np.zeros(10),
            boundary=np.zeros(10),
            energy=np.zeros((3, 9)),
            label=np.zeros((len(LABELS), 10)),
        )
