"""Audio descriptors against signals whose loudness, centroid and onset rate are known, and
output descriptors of a decoded structure; the pipeline gives both."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from tests.inference.audio_material import MATERIAL, write_material
from tests.tiny_model import tiny_cnn_checkpoint

from edm.audio.features import FeatureParams, log_mel
from edm.decoding.confidence import Confidence
from edm.decoding.structure import Section, TrackStructure
from edm.monitoring.descriptors import (
    FEATURES,
    SILENCE_DB,
    describe_log_mel,
    describe_output,
    describe_waveform,
    track_descriptors,
)

PARAMS = FeatureParams()
RATE = PARAMS.sample_rate


def describe(samples: np.ndarray):
    return describe_log_mel(log_mel(samples.astype(np.float32), PARAMS), PARAMS)


def test_loudness_is_rms_dbfs_for_noise_and_near_it_for_a_low_tone() -> None:
    rng = np.random.default_rng(0)
    noise = describe(0.1 * rng.standard_normal(5 * RATE))  # RMS 0.1: -20 dBFS
    assert noise.loudness == pytest.approx(-20.0, abs=1.5)
    assert noise.audio_duration == pytest.approx(5.0, abs=0.05)
    t = np.arange(5 * RATE) / RATE
    tone = describe(np.sin(2 * np.pi * 200 * t))  # a full-scale sine: -3 dBFS
    assert tone.loudness == pytest.approx(-3.0, abs=3.0)
    quieter = describe(0.1 * np.sin(2 * np.pi * 200 * t))
    assert tone.loudness - quieter.loudness == pytest.approx(20.0, abs=0.1)
    silence = describe(np.zeros(2 * RATE))
    assert silence.loudness == SILENCE_DB and math.isnan(silence.spectral_centroid)


@pytest.mark.parametrize("frequency", [200.0, 1000.0, 5000.0])
def test_the_centroid_of_a_tone_is_its_frequency(frequency: float) -> None:
    t = np.arange(3 * RATE) / RATE
    described = describe(0.5 * np.sin(2 * np.pi * frequency * t))
    assert described.spectral_centroid == pytest.approx(frequency, rel=0.03)


@pytest.mark.parametrize("bpm", [120.0, 174.0])
def test_the_onset_rate_of_a_metronome_is_its_beats_per_second(bpm: float) -> None:
    described = describe(MATERIAL["click"](bpm, 20.0))
    assert described.onset_rate == pytest.approx(bpm / 60.0, rel=0.08)


def test_waveform_models_get_the_same_descriptors_at_their_rate() -> None:
    rng = np.random.default_rng(3)
    at_24k = describe_waveform(0.1 * rng.standard_normal(4 * 24000), 24000)
    assert at_24k.loudness == pytest.approx(-20.0, abs=1.5)
    assert at_24k.audio_duration == pytest.approx(4.0, abs=0.05)


def _structure(bpm: float | None, labels: list[tuple[float, float, str]]) -> TrackStructure:
    return TrackStructure(
        bpm=bpm,
        beats=(),
        downbeats=(),
        sections=[Section(a, b, label, 0.8, (0.5, 0.5, 0.5)) for a, b, label in labels],
        duration=60.0,
        confidence=Confidence(overall=0.7, beats=0.8, tempo=0.9, sections=0.8),
    )


def test_output_descriptors_share_the_time_between_labels() -> None:
    values = describe_output(
        _structure(128.0, [(0, 15, "intro"), (15, 45, "drop"), (45, 60, "outro")])
    )
    assert values["bpm"] == 128.0 and values["n_sections"] == 3.0 and values["confidence"] == 0.7
    assert values["label_share_drop"] == pytest.approx(0.5)
    assert values["label_share_intro"] == values["label_share_outro"] == pytest.approx(0.25)
    assert values["label_share_breakdown"] == 0.0
    empty = describe_output(_structure(None, []))
    assert math.isnan(empty["bpm"]) and empty["n_sections"] == 0.0
    assert math.isnan(empty["label_share_drop"])
    assert list(track_descriptors(_structure(120.0, []))) == list(FEATURES)


def test_the_pipeline_gives_confidence_and_audio_descriptors(tmp_path: Path) -> None:
    from edm.inference.pipeline import File2Structure

    checkpoint = tiny_cnn_checkpoint(tmp_path / "tiny.pt")
    clip = write_material(tmp_path, "four", 128.0, seconds=8.0)
    analysis = File2Structure.from_checkpoint(checkpoint).analyze(clip)
    confidence = analysis.structure.to_dict()["confidence"]
    assert set(confidence) == {"overall", "beats", "tempo", "sections"}
    assert all(0.0 <= value <= 1.0 for value in confidence.values())
    assert analysis.audio is not None
    assert analysis.audio.audio_duration == pytest.approx(8.0, abs=0.05)
    # From the features the model was given, the same as from the file decoded once more.
    from edm.audio.io import load_audio

    expected = describe(load_audio(clip, RATE))
    for name, value in analysis.audio.as_dict().items():
        assert value == pytest.approx(getattr(expected, name), rel=1e-4), name
