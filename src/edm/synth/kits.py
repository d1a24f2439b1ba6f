"""Sound families as kits: the one-shots and synth voices one track plays, drawn per track.

Each family has several designs per instrument (a drum-machine kick with a click or a long
boom, a clap or a snare on the backbeat, metallic or noise hats, …), and every design's tuning
and decay is drawn again per track, so that no single sound stands for a section.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from edm.synth import instruments as inst
from edm.synth import oneshots as shots

HAT_PATTERNS = {
    "offbeat": (0.0, 0.0, 1.0, 0.0),
    "eighths": (0.55, 0.0, 1.0, 0.0),
    "sixteenths": (0.45, 0.3, 1.0, 0.3),
    "gallop": (0.0, 0.5, 1.0, 0.7),
}
# Bass rhythms as (16th step within the beat, length in 16ths).
BASS_PATTERNS = {
    "offbeat": ((2, 2),),
    "rolling": ((1, 1), (2, 1), (3, 1)),
    "gallop": ((2, 1), (3, 1)),
    "sustained": ((0, 4),),
    "sixteenths": ((0, 1), (1, 1), (2, 1), (3, 1)),
    "syncopated": ((0, 2), (3, 1)),
}


@dataclass(frozen=True)
class Voice:
    shape: str  # saw, square, sine or fm
    cutoff_hz: float | None
    attack: float
    sustain: float
    decay: float
    detune_cents: float = 0.0  # above 0: three oscillators, a supersaw
    bright_decay: float | None = None  # a filter envelope's fall (s)
    style: str = "arp"  # lead only: arp, pluck or stab


@dataclass(frozen=True)
class Kit:
    family: str
    kick: np.ndarray
    backbeat: np.ndarray  # clap or snare on beats 2 and 4
    hat: np.ndarray
    hat_pattern: tuple[float, ...]
    swing: float
    open_hat: np.ndarray
    snare: np.ndarray  # rolls and fills
    tom: np.ndarray  # fills
    crash: np.ndarray
    riser: Callable[[int, int, np.random.Generator], np.ndarray]
    bass: Voice
    bass_pattern: tuple[tuple[int, int], ...]
    octave_jumps: bool
    lead: Voice
    pad: Voice
    pad_cutoff_hz: float
    sidechain_depth: float
    sidechain_release: float
    shaker: np.ndarray | None = None  # played on sixteenths wherever the hats play
    perc: np.ndarray | None = None  # toms, rims or claves on a syncopated pattern, with the hats
    vinyl_db: float | None = None  # crackle under the whole track


def make_kit(family: str, rng: np.random.Generator, sr: int) -> Kit:
    return {"classic": _classic, "analog": _analog, "sampled": _sampled}[family](rng, sr)


def _choice(rng: np.random.Generator, options: tuple[str, ...] | list[str]) -> str:
    return str(options[int(rng.integers(len(options)))])


def _perc(rng: np.random.Generator, sr: int, chance: float) -> np.ndarray | None:
    if rng.random() >= chance:
        return None
    return shots.rim(sr, rng) if rng.random() < 0.5 else shots.tom(sr, rng)


def _classic_riser(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    return inst.riser(n, sr, rng, low_hz=rng.uniform(150, 400), high_hz=rng.uniform(1500, 4000))


def _classic(rng: np.random.Generator, sr: int) -> Kit:
    """The generator's first sounds."""
    u = rng.uniform
    snare = inst.noise_hit(
        sr,
        rng,
        decay=u(0.05, 0.1),
        band=(1000.0, 6000.0),
        kind="bandpass",
        length=0.3,
        tone_hz=u(160, 240),
    )
    return Kit(
        family="classic",
        kick=inst.kick(
            sr,
            rng,
            start_hz=u(110, 260),
            end_hz=u(42, 62),
            pitch_decay=u(0.015, 0.05),
            amp_decay=u(0.12, 0.4),
            click=u(0.0, 0.4),
        ),
        backbeat=inst.noise_hit(
            sr,
            rng,
            decay=u(0.06, 0.16),
            band=(u(800, 1300), u(2500, 5000)),
            kind="bandpass",
            length=0.4,
            bursts=3,
        ),
        hat=inst.noise_hit(
            sr, rng, decay=u(0.015, 0.06), band=u(5000, 8500), kind="highpass", length=0.2
        ),
        hat_pattern=HAT_PATTERNS[_choice(rng, ("offbeat", "eighths", "sixteenths"))],
        swing=u(0.0, 0.08),
        open_hat=inst.noise_hit(
            sr, rng, decay=u(0.12, 0.3), band=6000.0, kind="highpass", length=0.6
        ),
        snare=snare,
        tom=snare,
        crash=inst.noise_hit(sr, rng, decay=u(0.6, 1.4), band=3000.0, kind="highpass", length=2.5),
        riser=_classic_riser,
        bass=Voice(_choice(rng, ("saw", "square", "sine")), u(250, 900), 0.003, 0.6, u(0.1, 0.3)),
        bass_pattern=BASS_PATTERNS[_choice(rng, ("offbeat", "rolling", "gallop"))],
        octave_jumps=bool(rng.random() < 0.4),
        lead=Voice(_choice(rng, ("saw", "square")), u(1800, 5000), 0.004, 0.15, u(0.06, 0.22)),
        pad=Voice(_choice(rng, ("saw", "sine")), None, 0.25, 0.8, 1.0),
        pad_cutoff_hz=1400.0,
        sidechain_depth=u(0.3, 0.8),
        sidechain_release=0.12,
    )


def _analog(rng: np.random.Generator, sr: int) -> Kit:
    """Drum machine and analog synths."""
    u = rng.uniform
    metallic = rng.random() < 0.7
    hat_decay = u(0.02, 0.07)
    hat = (
        shots.metallic_hat(sr, rng, decay=hat_decay)
        if metallic
        else inst.noise_hit(
            sr, rng, decay=hat_decay, band=u(6000, 9000), kind="highpass", length=0.2
        )
    )
    snare = shots.noise_snare(sr, rng)
    supersaw = rng.random() < 0.5
    return Kit(
        family="analog",
        kick=shots.analog_kick(
            sr, rng, boom=bool(rng.random() < 0.4), drive=u(1.0, 3.0), click_hz=u(1000, 4000)
        ),
        backbeat=snare if rng.random() < 0.6 else shots.burst_clap(sr, rng),
        hat=hat,
        hat_pattern=HAT_PATTERNS[_choice(rng, tuple(HAT_PATTERNS))],
        swing=u(0.0, 0.15),
        open_hat=shots.metallic_hat(sr, rng, decay=u(0.15, 0.35)),
        snare=snare,
        tom=shots.tom(sr, rng),
        crash=shots.ride(sr, rng, length=u(1.5, 3.0)),
        riser=[shots.noise_sweep, shots.pitch_riser, _classic_riser][int(rng.integers(3))],
        bass=Voice(
            "saw" if supersaw else _choice(rng, ("saw", "square", "fm")),
            u(500, 2200),
            0.002,
            u(0.3, 0.8),
            u(0.08, 0.4),
            detune_cents=u(8, 20) if supersaw else 0.0,
            bright_decay=u(0.04, 0.2),
        ),
        bass_pattern=BASS_PATTERNS[_choice(rng, ("offbeat", "sustained", "sixteenths", "gallop"))],
        octave_jumps=bool(rng.random() < 0.5),
        lead=Voice(
            _choice(rng, ("saw", "square")),
            u(2500, 7000),
            0.003,
            u(0.1, 0.5),
            u(0.08, 0.3),
            detune_cents=u(5, 15) if rng.random() < 0.5 else 0.0,
            bright_decay=u(0.05, 0.3),
            style=_choice(rng, ("arp", "pluck")),
        ),
        pad=Voice("saw", None, u(0.1, 0.6), 0.8, 1.0, detune_cents=u(10, 25)),
        pad_cutoff_hz=u(900, 2500),
        sidechain_depth=u(0.2, 0.6),
        sidechain_release=u(0.08, 0.16),
        perc=_perc(rng, sr, 0.4),
    )


def _sampled(rng: np.random.Generator, sr: int) -> Kit:
    """One-shots like a sample pack's, chord stabs and plucks, deep pumping, crackle."""
    u = rng.uniform
    clap = shots.burst_clap(sr, rng)
    if rng.random() < 0.4:  # clap layered on a snare, as sample packs sell them
        snare_layer = shots.noise_snare(sr, rng)
        size = max(clap.size, snare_layer.size)
        clap = np.pad(clap, (0, size - clap.size)) + 0.7 * np.pad(
            snare_layer, (0, size - snare_layer.size)
        )
        clap = (clap / np.abs(clap).max()).astype(np.float32)
    short_hat = inst.noise_hit(sr, rng, decay=u(0.01, 0.03), band=u(7000, 10000), kind="highpass",
                               length=0.12)  # fmt: skip
    return Kit(
        family="sampled",
        kick=shots.layered_kick(sr, rng) if rng.random() < 0.65 else shots.soft_kick(sr, rng),
        backbeat=clap,
        hat=shots.shaker(sr, rng) if rng.random() < 0.4 else short_hat,
        hat_pattern=HAT_PATTERNS[_choice(rng, tuple(HAT_PATTERNS))],
        swing=u(0.0, 0.2),
        open_hat=inst.noise_hit(
            sr, rng, decay=u(0.1, 0.25), band=u(7000, 9000), kind="highpass", length=0.5
        ),
        snare=shots.noise_snare(sr, rng),
        tom=shots.tom(sr, rng),
        crash=inst.noise_hit(
            sr, rng, decay=u(1.0, 2.0), band=u(4000, 7000), kind="highpass", length=3.0
        ),
        riser=[shots.reverse_cymbal, shots.noise_sweep][int(rng.integers(2))],
        bass=Voice(
            _choice(rng, ("sine", "square", "saw")),
            u(200, 700),
            0.004,
            u(0.5, 0.9),
            u(0.15, 0.5),
            detune_cents=u(10, 30) if rng.random() < 0.3 else 0.0,
            bright_decay=u(0.02, 0.08),
        ),
        bass_pattern=BASS_PATTERNS[_choice(rng, ("offbeat", "syncopated", "sustained", "rolling"))],
        octave_jumps=bool(rng.random() < 0.3),
        lead=Voice(
            _choice(rng, ("saw", "square", "fm")),
            u(2000, 6000),
            0.002,
            0.0,
            u(0.05, 0.15),
            bright_decay=u(0.02, 0.1),
            style=_choice(rng, ("pluck", "stab", "stab")),
        ),
        pad=Voice(
            _choice(rng, ("sine", "saw")), None, u(0.05, 0.4), 0.7, 1.0, detune_cents=u(5, 15)
        ),
        pad_cutoff_hz=u(1000, 3000),
        sidechain_depth=u(0.5, 0.9),
        sidechain_release=u(0.15, 0.28),
        shaker=shots.shaker(sr, rng) if rng.random() < 0.6 else None,
        vinyl_db=u(-45.0, -30.0) if rng.random() < 0.5 else None,
        perc=_perc(rng, sr, 0.6),
    )
