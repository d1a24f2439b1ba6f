"""Issue 33's decoding rows: silence, tempo changes, the whole DJ tempo range, 3/4.

Activations are what a perfect model gives for a synthetic annotation
(``tests.structure_factories``), changed where the row needs it; each test says what the
decoder did before.
"""

from __future__ import annotations

import mir_eval
import numpy as np
import pytest
from tests.structure_factories import FPS, activations_from, make_annotation

from edm.data.targets import beat_times, downbeat_times
from edm.decoding import DecodeParams, TempoSearch, decode_structure
from edm.decoding.activations import FrameActivations
from edm.vocabulary import LABELS


def _f(reference: np.ndarray, estimate: np.ndarray | tuple[float, ...]) -> float:
    return float(mir_eval.beat.f_measure(np.asarray(reference), np.asarray(estimate)))


def _joined(parts: list[FrameActivations], gaps: list[int]) -> FrameActivations:
    """The parts one after the other, ``gaps[i]`` frames of silence before part ``i`` (and
    ``gaps[-1]`` after the last): zero activations, the ``unlabeled`` class."""
    unlabeled = LABELS.index("unlabeled")

    def silence(n: int) -> dict[str, np.ndarray]:
        label = np.full((len(LABELS), n), 0.02)
        label[unlabeled] = 0.88
        return {"one": np.zeros(n), "energy": np.zeros((3, n)), "label": label}

    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("beat", "downbeat", "boundary")}
    energy, label = [], []
    for gap, part in zip(gaps, [*parts, None], strict=True):
        quiet = silence(gap)
        for key in rows:
            rows[key].append(quiet["one"])
        energy.append(quiet["energy"])
        label.append(quiet["label"])
        if part is not None:
            for key in rows:
                rows[key].append(getattr(part, key))
            energy.append(part.energy)
            label.append(part.label)
    return FrameActivations(
        frame_rate=FPS,
        beat=np.concatenate(rows["beat"]),
        downbeat=np.concatenate(rows["downbeat"]),
        boundary=np.concatenate(rows["boundary"]),
        energy=np.concatenate(energy, axis=1),
        label=np.concatenate(label, axis=1),
    )


def test_no_beats_in_20_s_of_silence_before_and_after_the_music() -> None:
    # Before: 86 beats in the silence, beat F 0.776 against the music's beats.
    music = make_annotation(downbeat=0.0)
    activations = _joined([activations_from(music)], [20 * 50, 20 * 50])
    structure = decode_structure(activations)
    beats = np.asarray(structure.beats)
    reference = beat_times(music) + 20.0
    assert beats.min() >= 20.0 - 0.05
    assert beats.max() <= 20.0 + music.audio.duration + 0.05
    assert _f(reference, beats) > 0.99
    assert structure.downbeats[0] == pytest.approx(20.0, abs=0.03)


def test_a_silent_break_inside_the_track_gets_no_beats() -> None:
    music = make_annotation(downbeat=0.0)
    part = activations_from(music)
    activations = _joined([part, part], [0, 12 * 50, 0])
    beats = np.asarray(decode_structure(activations).beats)
    gap = (beats > music.audio.duration + 1.0) & (beats < music.audio.duration + 11.0)
    assert not gap.any()


def _two_part_mix(
    first_bpm: float, second_bpm: float, minutes: float
) -> tuple[FrameActivations, np.ndarray, np.ndarray, float]:
    parts, references, offset = [], [], 0.0
    for bpm in (first_bpm, second_bpm):
        bars = int(minutes * 60 * bpm / 60 / 4)
        sections = ((1, "intro"), (9, "drop"), (bars - 8, "outro"))
        annotation = make_annotation(bpm=bpm, downbeat=0.0, sections=sections, tail_bars=8)
        parts.append(activations_from(annotation))
        references.append(beat_times(annotation) + offset)
        offset += parts[-1].n_frames / FPS
    split = parts[0].n_frames / FPS
    return _joined(parts, [0, 0, 0]), references[0], references[1], split


@pytest.mark.slow
def test_a_dj_mix_from_124_to_128_bpm_is_followed_on_both_parts() -> None:
    # Before: one tempo for the whole file, F 0.655.
    activations, first, second, split = _two_part_mix(124.0, 128.0, 5.0)
    structure = decode_structure(activations)
    beats = np.asarray(structure.beats)
    assert _f(first, beats[beats < split]) >= 0.95
    assert _f(second, beats[beats >= split]) >= 0.95
    assert [round(bpm) for _, bpm in structure.tempo_curve] == [124, 128]
    assert structure.tempo_curve[1][0] == pytest.approx(split, abs=10.0)
    assert structure.to_dict()["tempo_curve"] == [list(p) for p in structure.tempo_curve]


def test_a_short_mix_is_followed_and_a_constant_track_keeps_one_tempo() -> None:
    activations, first, second, split = _two_part_mix(124.0, 128.0, 1.5)
    beats = np.asarray(decode_structure(activations).beats)
    assert _f(first, beats[beats < split]) >= 0.95
    assert _f(second, beats[beats >= split]) >= 0.95
    annotation = make_annotation(bpm=126.0)
    constant = decode_structure(activations_from(annotation, noise=0.1, seed=2))
    assert len(constant.tempo_curve) == 1
    assert _f(beat_times(annotation), constant.beats) == 1.0


@pytest.mark.parametrize("bpm", [65.0, 85.0, 174.0, 190.0, 200.0])
def test_every_tempo_a_dj_plays_is_found(bpm: float) -> None:
    # Before: 65 -> 130, 190 -> 95, 200 -> 100 (the range was 70-180).
    annotation = make_annotation(bpm=bpm)
    structure = decode_structure(activations_from(annotation))
    assert structure.bpm == pytest.approx(bpm, rel=0.005)
    assert _f(beat_times(annotation), structure.beats) > 0.99
    assert _f(downbeat_times(annotation), structure.downbeats) > 0.99


@pytest.mark.parametrize("bpm", [100.0, 105.0])
def test_offbeats_do_not_double_the_tempo_when_the_downbeats_say_so(bpm: float) -> None:
    # Off-beat hats almost as strong as the beats make 200 BPM the better grid by the beat
    # activation alone; the downbeats, one bar of four 100 BPM beats apart, settle it.
    annotation = make_annotation(bpm=bpm)
    activations = activations_from(annotation)
    beat = activations.beat.copy()
    offbeats = np.round((beat_times(annotation) + 30.0 / bpm) * FPS).astype(int)
    beat[offbeats[offbeats < beat.size]] = 0.7
    changed = FrameActivations(
        FPS, beat, activations.downbeat, activations.boundary, activations.energy,
        activations.label,
    )  # fmt: skip
    assert decode_structure(changed).bpm == pytest.approx(bpm, rel=0.005)


def test_the_bpm_hints_bound_the_answer() -> None:
    annotation = make_annotation(bpm=87.0)
    hinted = DecodeParams(tempo=TempoSearch(min_bpm=150.0, max_bpm=210.0))
    structure = decode_structure(activations_from(annotation), hinted)
    assert structure.bpm == pytest.approx(174.0, rel=0.005)
    assert structure.to_dict()["tempo_range"] == [150.0, 210.0]


def test_three_four_is_decoded_and_reported() -> None:
    # Before: every track was decoded and reported as 4/4.
    music = make_annotation(bpm=120.0)
    annotation = music.model_copy(
        update={"audio": music.audio.model_copy(update={"time_signature": "3/4"})}
    )
    structure = decode_structure(activations_from(annotation))
    assert structure.beats_per_bar == 3
    assert structure.to_dict()["time_signature"] == "3/4"
    assert structure.to_dict()["metre"]["assumed"] is False
    assert _f(downbeat_times(annotation), structure.downbeats) > 0.99
    assert structure.to_annotation("t.wav").audio.time_signature == "3/4"


def test_without_downbeat_evidence_four_four_is_assumed_and_said() -> None:
    activations = activations_from(make_annotation())
    flat = FrameActivations(
        FPS, activations.beat, np.zeros_like(activations.beat), activations.boundary,
        activations.energy, activations.label,
    )  # fmt: skip
    structure = decode_structure(flat)
    metre = structure.to_dict()["metre"]
    assert structure.beats_per_bar == 4 and metre["assumed"] is True
    assert 0.0 <= metre["confidence"] <= 1.0
    four = decode_structure(activations).to_dict()["metre"]
    assert four["time_signature"] == "4/4" and four["assumed"] is False
    assert four["confidence"] > 0.8


def test_an_analysed_track_with_a_silent_tail_writes_where_the_music_ends() -> None:
    music = make_annotation(downbeat=0.0)
    activations = _joined([activations_from(music)], [0, 20 * 50])
    annotation = decode_structure(activations).to_annotation("t.wav")
    assert annotation.audio.music_end == pytest.approx(music.audio.duration, abs=0.6)
    assert beat_times(annotation)[-1] < music.audio.duration + 0.1
    untouched = decode_structure(activations_from(music)).to_annotation("t.wav")
    assert untouched.audio.music_end is None
