"""Families of sounds and arrangements: chosen, recorded, really different; and track lengths
within what was asked, checked on the arrangement alone (no audio) over many seeds."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from tests.cli_runner import RunEdm

from edm.data.annotations import load_annotation
from edm.errors import ConfigError
from edm.synth import ARRANGEMENT_FAMILIES, SOUND_FAMILIES, SynthConfig, generate_track
from edm.synth.families import draw_family
from edm.synth.form import Arrangement
from edm.synth.kits import make_kit

SR = 22050


def _arrangement(seed: int, config: SynthConfig, family: str) -> Arrangement:
    return Arrangement(np.random.default_rng([seed, 99]), config, family)


def test_the_families_are_all_drawn_by_default_and_can_be_restricted() -> None:
    assert {"classic", "analog", "sampled"} <= set(SOUND_FAMILIES)
    assert {"template", "pickup", "extended"} <= set(ARRANGEMENT_FAMILIES)
    config = SynthConfig()
    assert config.sound_families == SOUND_FAMILIES
    assert config.arrangement_families == ARRANGEMENT_FAMILIES
    only = SynthConfig(sound_families=["analog", "analog"], arrangement_families=("pickup",))
    assert only.sound_families == ("analog",) and only.arrangement_families == ("pickup",)


def test_an_unknown_family_is_an_error_naming_it_and_the_known_ones() -> None:
    with pytest.raises(ConfigError) as error:
        SynthConfig(sound_families=("classic", "orchestral"))
    assert str(error.value) == (
        "unknown sound family 'orchestral': known sound families are classic, analog, sampled"
    )
    with pytest.raises(ConfigError, match=r"unknown arrangement family 'techno'.*template"):
        SynthConfig(arrangement_families=("techno",))
    with pytest.raises(ConfigError, match="no sound family chosen"):
        SynthConfig(sound_families=())


def test_synth_records_the_families_and_takes_them_from_the_command_line(
    tmp_path: Path, run_edm: RunEdm
) -> None:
    out = tmp_path / "analog"
    result = run_edm(
        "data", "synth", str(out), "--tracks", "2", "--max-seconds", "25",
        "--sound-families", "analog", "--arrangement-families", "pickup,extended",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for path in sorted(out.glob("*.yaml")):
        annotation = load_annotation(path)
        extra = annotation.metadata.model_extra or {}
        assert extra["sound_family"] == "analog"
        assert extra["arrangement_family"] in ("pickup", "extended")
        assert annotation.problems() == []
        assert 25 - 1e-6 <= annotation.audio.duration <= 25 + 1e-6  # --max-seconds alone
    bad = run_edm("data", "synth", str(tmp_path / "bad"), "--sound-families", "classic,lofi")
    assert bad.exit_code == 1
    assert bad.stderr.strip().splitlines() == [
        "Error: unknown sound family 'lofi': known sound families are classic, analog, sampled"
    ]
    assert not (tmp_path / "bad").exists()


def test_max_seconds_alone_lowers_the_minimum_and_a_contradictory_pair_is_an_error() -> None:
    assert SynthConfig(max_seconds=40).min_seconds == 40
    assert SynthConfig(max_seconds=80).min_seconds == 60
    with pytest.raises(ConfigError, match=r"track length range 60\.0\.\.40\.0 s is empty"):
        SynthConfig(min_seconds=60.0, max_seconds=40.0)
    with pytest.raises(ConfigError, match="too short for an EDM form at 118 BPM"):
        SynthConfig(max_seconds=15)


@pytest.mark.parametrize(
    ("min_seconds", "max_seconds"), [(60, 100), (30, 31), (None, 40), (19, 20), (150, 240)]
)
def test_every_track_lies_within_the_length_bounds(
    min_seconds: float | None, max_seconds: float
) -> None:
    config = SynthConfig(min_seconds=min_seconds, max_seconds=max_seconds)
    for seed in range(40):
        for family in ARRANGEMENT_FAMILIES:
            arrangement = _arrangement(seed, config, family)
            duration = arrangement.n / SR
            assert config.min_seconds <= duration <= max_seconds, (seed, family, duration)
            sections = arrangement.sections
            assert sections[0].start_bar == 1
            for before, after in itertools.pairwise(sections):
                assert after.start_bar == before.start_bar + before.bars
            assert [s.label for s in sections][-1] == "outro"
            assert "drop" in [s.label for s in sections]
            last_downbeat = arrangement.beat_position(arrangement.total_beats - 4)
            assert last_downbeat < arrangement.n


def test_arrangement_families_differ_in_pickups_phrases_and_half_time_drops() -> None:
    config = SynthConfig(min_seconds=150, max_seconds=240)
    plans = {
        family: [_arrangement(seed, config, family) for seed in range(30)]
        for family in ARRANGEMENT_FAMILIES
    }
    assert all(a.pickup_beats == 0 for a in plans["template"])
    pickups = [a.pickup_beats for a in plans["pickup"]]
    assert sum(1 <= p <= 3 for p in pickups) >= 20 and max(pickups) == 3
    for a in plans["pickup"]:  # the pickup sits inside the lead-in: bar 1 stays the downbeat
        assert a.downbeat_seconds >= a.pickup_beats * 60.0 / a.bpm - 1e-9
    gaps = sum(bool(a.gaps()) for a in plans["pickup"])
    assert gaps >= 8
    default = SynthConfig()
    assert all(
        s.bars in (4, 8)
        for seed in range(30)
        for s in _arrangement(seed, default, "template").sections
    )
    assert sum(any(s.bars >= 16 for s in a.sections) for a in plans["extended"]) >= 25
    assert sum(bool(a.halftime_beats().any()) for a in plans["extended"]) >= 8
    assert not any(a.halftime_beats().any() for a in plans["template"])


def _high_share(sample: np.ndarray) -> float:
    """Share of a one-shot's spectrum above 1 kHz."""
    spectrum = np.abs(np.fft.rfft(sample, 1 << 15)) ** 2
    freqs = np.fft.rfftfreq(1 << 15, 1 / SR)
    return float(spectrum[freqs > 1000].sum() / spectrum.sum())


def test_sound_families_make_different_kicks_and_hats() -> None:
    kits = {
        family: [make_kit(family, np.random.default_rng([seed, 5]), SR) for seed in range(12)]
        for family in SOUND_FAMILIES
    }
    length = {f: np.median([k.kick.size for k in kits[f]]) / SR for f in SOUND_FAMILIES}
    assert length["classic"] == pytest.approx(0.6)  # the first generator's 0.6 s kick
    assert length["analog"] != pytest.approx(0.6) and length["sampled"] != pytest.approx(0.6)
    high = {f: np.median([_high_share(k.kick) for k in kits[f]]) for f in SOUND_FAMILIES}
    assert high["sampled"] > 2 * high["classic"]  # the layered kick's transient
    assert len({k.kick.size for k in kits["analog"]}) >= 10  # drawn per track, not one sample
    assert any(k.shaker is not None for k in kits["sampled"])
    assert any(k.bass.detune_cents > 0 for k in kits["analog"])
    assert all(k.bass.detune_cents == 0 for k in kits["classic"])


def test_same_seed_same_track_and_families_follow_the_config() -> None:
    config = SynthConfig(max_seconds=22, sound_families=("sampled",))
    first = generate_track("t", 5, 1, config)
    again = generate_track("t", 5, 1, config)
    assert first.sound_family == "sampled"
    assert np.array_equal(first.samples, again.samples)
    assert first.annotation == again.annotation
    assert first.annotation.problems() == []


def test_a_pickup_is_heard_before_the_first_downbeat() -> None:
    """The beats of a pickup are played (a drum fill), louder than the lead-in before it."""
    config = SynthConfig(max_seconds=22, arrangement_families=("pickup",))
    checked = 0
    for index in range(6):
        rng = np.random.default_rng(np.random.SeedSequence([3, index]))
        draw_family(rng, config.sound_families), draw_family(rng, config.arrangement_families)
        beats = Arrangement(rng, config, "pickup").pickup_beats
        if not beats:
            continue
        track = generate_track("t", 3, index, config)
        audio = track.samples.astype(np.float64)
        downbeat = int(track.annotation.audio.downbeat * SR)
        pickup_start = downbeat - int(beats * 60.0 / track.annotation.audio.bpm * SR)
        fill = np.sqrt(np.mean(audio[pickup_start:downbeat] ** 2))
        before = np.sqrt(np.mean(audio[: max(pickup_start, 1)] ** 2))
        assert fill > 4 * before, (index, beats, fill, before)
        assert track.annotation.problems() == []
        checked += 1
        if checked == 2:
            break
    assert checked == 2
