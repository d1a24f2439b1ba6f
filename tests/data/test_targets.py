from __future__ import annotations

import numpy as np
import pytest

from edm.data.annotations import Energy
from edm.data.targets import beat_times, downbeat_times, frame_targets
from edm.vocabulary import LABELS

FPS = 50.0


def test_beats_start_at_the_first_downbeat_and_downbeats_come_every_bar(make_annotation) -> None:
    annotation = make_annotation()  # 120 BPM, first downbeat 0.5 s, 10 s long
    # Before issue 33 a beat at 0.0 s (before bar 1) was a target too.
    np.testing.assert_allclose(beat_times(annotation), np.arange(0.5, 10.0, 0.5))
    np.testing.assert_allclose(downbeat_times(annotation), [0.5, 2.5, 4.5, 6.5, 8.5])


def test_no_beat_targets_in_the_silence_before_and_after_the_music(make_annotation) -> None:
    # 20 s of silence, the music, 20 s of silence: before, 40 of the beats lay in the silence.
    music = make_annotation()
    annotation = music.model_copy(
        update={
            "audio": music.audio.model_copy(
                update={"downbeat": 20.0, "duration": 50.0, "music_end": 30.0}
            ),
            "structure": [e.model_copy(update={"time": e.time + 19.5}) for e in music.structure],
        }
    )
    assert annotation.problems() == []
    beats = beat_times(annotation)
    assert beats[0] == pytest.approx(20.0) and beats[-1] < 30.0 and beats.size == 20
    targets = frame_targets(annotation, 2500, FPS)
    assert targets.beat[: 19 * 50].sum() == 0 and targets.beat[int(30.1 * 50) :].sum() == 0
    unlabeled = LABELS.index("unlabeled")
    assert (targets.label[:1000] == unlabeled).all() and (targets.label[1510:] == unlabeled).all()


def test_three_four_annotations_give_bars_of_three_beats(make_annotation) -> None:
    music = make_annotation()
    annotation = music.model_copy(
        update={"audio": music.audio.model_copy(update={"time_signature": "3/4"})}
    )
    np.testing.assert_allclose(downbeat_times(annotation), [0.5, 2.0, 3.5, 5.0, 6.5, 8.0, 9.5])
    targets = frame_targets(annotation, 501, FPS)
    assert targets.downbeat[[25, 100, 175]].tolist() == [1.0, 1.0, 1.0]
    assert targets.downbeat[125] == 0.0


def test_target_shapes_and_types(make_annotation) -> None:
    targets = frame_targets(make_annotation(), 501, FPS)
    assert targets.n_frames == 501
    for name in ("boundary", "beat", "downbeat"):
        array = getattr(targets, name)
        assert array.shape == (501,) and array.dtype == np.float32
    assert targets.label.shape == (501,) and targets.label.dtype == np.int64
    assert targets.energy.shape == (3, 501) and targets.energy.dtype == np.float32
    assert targets.has_energy


def test_beats_are_one_on_the_frame_and_half_beside(make_annotation) -> None:
    targets = frame_targets(make_annotation(), 501, FPS)
    assert targets.beat[[25, 50, 475]].tolist() == [1.0, 1.0, 1.0]
    assert targets.beat[[24, 26, 49, 51]].tolist() == [0.5] * 4
    assert targets.beat[[0, 1, 2, 12, 23, 27]].tolist() == [0.0] * 6  # no beat before bar 1
    assert targets.beat.sum() == pytest.approx(19 * 2.0)
    assert targets.downbeat[[25, 125, 225]].tolist() == [1.0, 1.0, 1.0]
    assert targets.downbeat[[0, 50, 75]].tolist() == [0.0, 0.0, 0.0]


def test_boundaries_are_soft_peaks_at_section_starts(make_annotation) -> None:
    targets = frame_targets(make_annotation(), 501, FPS)
    peaks = np.flatnonzero(targets.boundary == 1.0)
    assert peaks.tolist() == [25, 225, 425]
    assert 0.5 < targets.boundary[226] < 1.0 and targets.boundary[226] == targets.boundary[224]
    assert targets.boundary[218] == 0.0 and targets.boundary[232] == 0.0


def test_a_section_starting_at_zero_is_not_a_boundary(make_annotation) -> None:
    annotation = make_annotation(downbeat=0.0)
    annotation = annotation.model_copy(
        update={
            "structure": [
                s.model_copy(update={"time": 0.0}) if i == 0 else s
                for i, s in enumerate(annotation.structure)
            ]
        }
    )
    targets = frame_targets(annotation, 501, FPS)
    assert targets.boundary[:5].max() == 0.0
    assert np.flatnonzero(targets.boundary == 1.0).tolist() == [225, 425]


def test_labels_per_frame_with_unlabeled_before_the_first_section(make_annotation) -> None:
    label = frame_targets(make_annotation(), 501, FPS).label
    index = {name: i for i, name in enumerate(LABELS)}
    assert set(label[:25]) == {index["unlabeled"]}
    assert set(label[25:225]) == {index["intro"]}
    assert set(label[225:425]) == {index["drop"]}
    assert set(label[425:]) == {index["outro"]}


def test_energy_per_section_and_per_bar(make_annotation) -> None:
    per_section = frame_targets(make_annotation(), 501, FPS).energy
    np.testing.assert_allclose(per_section[:, 10], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(per_section[:, 100], [0.2, 0.1, 0.3])
    np.testing.assert_allclose(per_section[:, 300], [1.0, 0.9, 0.8])
    np.testing.assert_allclose(per_section[:, 500], [0.4, 0.3, 0.2])

    annotation = make_annotation().model_copy(
        update={"energy": Energy(unit="bar", low=[0.1, 0.5], mid=[0.2, 0.6], high=[0.3, 0.7])}
    )
    per_bar = frame_targets(annotation, 501, FPS).energy
    np.testing.assert_allclose(per_bar[:, 24], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(per_bar[:, 25], [0.1, 0.2, 0.3])  # bar 1 at 0.5 s
    np.testing.assert_allclose(per_bar[:, 125], [0.5, 0.6, 0.7])  # bar 2 at 2.5 s, held


def test_no_energy_gives_zeros_and_says_so(make_annotation) -> None:
    targets = frame_targets(make_annotation(with_energy=False), 501, FPS)
    assert not targets.has_energy
    assert targets.energy.shape == (3, 501) and not targets.energy.any()
