"""Audio from outside the synthetic generator: click tracks and drum loops at a known tempo.

(A unique module name: test folders share sys.path.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050


def _click(frequency: float, seconds: float = 0.03) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return np.sin(2 * np.pi * frequency * t) * np.exp(-t / 0.005)


def _kick() -> np.ndarray:
    t = np.arange(int(0.35 * SAMPLE_RATE)) / SAMPLE_RATE
    frequency = 50 + 120 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE) * np.exp(-t / 0.15)


def _noise(seconds: float, decay: float, rng: np.random.Generator, bright: bool) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    noise = rng.standard_normal(t.size)
    if bright:
        noise = np.diff(noise, prepend=0.0)
    return noise * np.exp(-t / decay)


def _place(out: np.ndarray, seconds: float, sound: np.ndarray, gain: float) -> None:
    start = round(seconds * SAMPLE_RATE)
    end = min(out.size, start + sound.size)
    if start < out.size:
        out[start:end] += gain * sound[: end - start]


def click_track(bpm: float, seconds: float = 30.0, first: float = 0.5) -> np.ndarray:
    """A metronome: a high click on each downbeat, a lower one on the other beats."""
    out = np.zeros(int(seconds * SAMPLE_RATE))
    high, low = _click(1500.0), _click(1000.0)
    for index, time in enumerate(np.arange(first, seconds - 0.05, 60.0 / bpm)):
        _place(out, time, high if index % 4 == 0 else low, 1.0 if index % 4 == 0 else 0.7)
    return out


def four_on_the_floor(bpm: float, seconds: float = 30.0, first: float = 0.5) -> np.ndarray:
    """House/techno drums: a kick on every beat, a clap on 2 and 4, a hat on every off-beat."""
    rng = np.random.default_rng(int(bpm))
    out = np.zeros(int(seconds * SAMPLE_RATE))
    kick, hat, clap = _kick(), _noise(0.05, 0.01, rng, True), _noise(0.2, 0.05, rng, False)
    beat = 60.0 / bpm
    for index, time in enumerate(np.arange(first, seconds - 0.05, beat)):
        _place(out, time, kick, 1.0)
        _place(out, time + beat / 2, hat, 0.3)
        if index % 2 == 1:
            _place(out, time, clap, 0.4)
    return out


def breakbeat(bpm: float, seconds: float = 30.0, first: float = 0.5) -> np.ndarray:
    """Drum & bass two-step: kicks on 1 and the 'and' of 3, snares on 2 and 4, eighth hats."""
    rng = np.random.default_rng(int(bpm) + 1)
    out = np.zeros(int(seconds * SAMPLE_RATE))
    kick, hat = _kick(), _noise(0.04, 0.008, rng, True)
    snare = _noise(0.2, 0.06, rng, False) + 0.5 * _click(200.0, 0.2)
    beat = 60.0 / bpm
    for index, time in enumerate(np.arange(first, seconds - 0.05, beat)):
        position = index % 4
        if position == 0:
            _place(out, time, kick, 1.0)
        if position == 2:
            _place(out, time + beat / 2, kick, 0.9)
        if position in (1, 3):
            _place(out, time, snare, 0.8)
        _place(out, time, hat, 0.25)
        _place(out, time + beat / 2, hat, 0.15)
    return out


MATERIAL = {"click": click_track, "four": four_on_the_floor, "break": breakbeat}


def write_material(folder: Path, kind: str, bpm: float, seconds: float = 30.0) -> Path:
    samples = MATERIAL[kind](bpm, seconds)
    samples = 0.8 * samples / np.abs(samples).max()
    path = folder / f"{kind}_{bpm:g}.wav"
    sf.write(path, samples.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
    return path
