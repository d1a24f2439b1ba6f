from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy import signal
from scipy.fft import next_fast_len

from edm.data.annotations import Annotation, load_annotation
from edm.synth import ARRANGEMENT_FAMILIES, SOUND_FAMILIES, SynthConfig, write_synthetic_dataset

FORM = re.compile(r"^intro buildup drop( breakdown( breakbuild)?( buildup)? drop){0,2} outro$")


@pytest.fixture(scope="module")
def synth_tracks(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[np.ndarray, Annotation]]:
    out = tmp_path_factory.mktemp("synth")
    paths = write_synthetic_dataset(out, 6, seed=7)
    tracks = []
    for path in paths:
        annotation = load_annotation(path)
        samples, rate = sf.read(annotation.audio_path(path), dtype="float32")
        assert rate == 22050 and samples.ndim == 1
        tracks.append((samples, annotation))
    return tracks


def test_same_seed_gives_identical_files_with_any_workers_and_another_seed_does_not(
    tmp_path: Path,
) -> None:
    config = SynthConfig(min_seconds=30, max_seconds=40)
    write_synthetic_dataset(tmp_path / "a", 2, seed=3, config=config, workers=1)
    write_synthetic_dataset(tmp_path / "b", 2, seed=3, config=config, workers=2)
    write_synthetic_dataset(tmp_path / "c", 2, seed=4, config=config, workers=1)
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["track_000.wav", "track_000.yaml", "track_001.wav", "track_001.yaml"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "c" / name).read_bytes()


def test_tempo_length_and_metadata_are_plausible(synth_tracks) -> None:
    for samples, annotation in synth_tracks:
        audio = annotation.audio
        assert 118 <= audio.bpm <= 150
        assert audio.time_signature == "4/4"
        # A lead-in of up to 2 s, then a pickup of up to three beats.
        assert 0.0 <= audio.downbeat < 2.0 + 3 * audio.beat_duration
        assert audio.duration == pytest.approx(samples.size / 22050, abs=1e-5)
        assert 60 <= audio.duration <= 100
        assert annotation.metadata.tier == 1
        assert annotation.metadata.source == "synthetic"
        assert annotation.metadata.confidence == 1.0
        extra = annotation.metadata.model_extra or {}
        assert extra["sound_family"] in SOUND_FAMILIES
        assert extra["arrangement_family"] in ARRANGEMENT_FAMILIES


def test_sections_follow_the_edm_form_on_four_bar_phrases(synth_tracks) -> None:
    """At the default lengths no form is shortened below four-bar phrases."""
    for _, annotation in synth_tracks:
        labels = " ".join(s.label for s in annotation.structure)
        assert FORM.match(labels), labels
        bar_seconds = annotation.audio.bar_duration
        for section in annotation.structure:
            assert (section.bar - 1) % 4 == 0
            expected = annotation.audio.downbeat + (section.bar - 1) * bar_seconds
            assert section.time == pytest.approx(expected, abs=1e-5)
        assert annotation.structure[0].bar == 1
        energy = annotation.energy
        assert energy is not None and len(energy.low) == len(annotation.structure)


def test_tracks_differ_from_each_other(synth_tracks) -> None:
    downbeats = {round(a.audio.downbeat, 3) for _, a in synth_tracks}
    tempos = {a.audio.bpm for _, a in synth_tracks}
    forms = {tuple((s.label, s.bar) for s in a.structure) for _, a in synth_tracks}
    assert len(downbeats) == len(synth_tracks)
    assert len(tempos) >= 3
    assert len(forms) >= 3


def _low_band(samples: np.ndarray) -> np.ndarray:
    sos = signal.butter(4, 120, btype="lowpass", fs=22050, output="sos")
    return signal.sosfilt(sos, samples)


def _section_rms(low: np.ndarray, annotation: Annotation, label: str) -> float:
    spans = []
    starts = [s.time for s in annotation.structure] + [annotation.audio.duration]
    for section, end in zip(annotation.structure, starts[1:], strict=True):
        if section.label == label:
            spans.append(low[int(section.time * 22050) : int(end * 22050)])
    return float(np.sqrt(np.mean(np.concatenate(spans) ** 2)))


def test_low_band_is_louder_in_drops_than_in_breakdowns(synth_tracks) -> None:
    """Twice as loud where the breakdown drops its drums; louder still where it keeps them
    (the bass arrives with the drop)."""
    with_breakdowns = [(s, a) for s, a in synth_tracks if _labels(a).count("breakdown")]
    assert len(with_breakdowns) >= 3
    for samples, annotation in with_breakdowns:
        low = _low_band(samples)
        drop, breakdown = (
            _section_rms(low, annotation, "drop"),
            _section_rms(low, annotation, "breakdown"),
        )
        keeps_kick = annotation.metadata.model_extra["arrangement_family"] == "pickup"
        assert drop > (1.1 if keeps_kick else 2.0) * breakdown


def _labels(annotation: Annotation) -> list[str]:
    return [s.label for s in annotation.structure]


def test_onsets_rise_at_the_annotated_beats_in_drops(synth_tracks) -> None:
    """Sound rises at the annotated beats: the sharpest rise comes at the beat or a few ms in
    (a clap's later bursts, a kick's body). A grid off by a sixteenth or more fails. Full band:
    a sample-like kick's attack is its transient."""
    for samples, annotation in synth_tracks:
        # Hilbert envelope of the whole mix: no filter delay to blur the onset times.
        envelope = np.abs(signal.hilbert(samples, N=next_fast_len(samples.size)))[: samples.size]
        onset = np.maximum(np.diff(envelope, prepend=0.0), 0.0)
        beat = annotation.audio.beat_duration
        beats = []
        for section, nxt in zip(annotation.structure, annotation.structure[1:], strict=False):
            if section.label == "drop":
                beats += list(np.arange(section.time, nxt.time - beat / 2, beat))
        positions = np.round(np.array(beats) * 22050).astype(int)
        shifts_ms = np.arange(-60, 61, 2)
        strength = np.array(
            [
                onset[positions[:, None] + int(ms * 22.05) + np.arange(-44, 45)].sum()
                for ms in shifts_ms
            ]
        )
        assert -4 <= shifts_ms[int(np.argmax(strength))] <= 30


def test_energy_annotation_peaks_in_drops(synth_tracks) -> None:
    for _, annotation in synth_tracks:
        energy = annotation.energy
        assert energy is not None
        for band in energy.bands():
            assert all(0.0 <= v <= 1.0 for v in band)
        labels = [s.label for s in annotation.structure]
        drop_low = max(v for v, lab in zip(energy.low, labels, strict=True) if lab == "drop")
        assert drop_low == pytest.approx(1.0, abs=0.05)
        breakdown_low = [v for v, lab in zip(energy.low, labels, strict=True) if lab == "breakdown"]
        if breakdown_low and annotation.metadata.model_extra["arrangement_family"] != "pickup":
            assert max(breakdown_low) < 0.5
