"""More drum and effect sounds for the ``analog`` and ``sampled`` sound families: drum-machine
kicks, hats and snares, layered sample-like kicks, claps of several bursts, shakers, toms,
risers of another kind, vinyl crackle. Whole-array numpy, like :mod:`~edm.synth.instruments`.
"""

from __future__ import annotations

import numpy as np

from edm.synth.instruments import filtered

# Frequencies of a classic drum machine's six square oscillators for cymbals and hats (Hz).
METAL_HZ = (205.3, 304.4, 369.6, 522.7, 540.0, 800.0)


def _normalised(out: np.ndarray) -> np.ndarray:
    return (out / max(float(np.abs(out).max()), 1e-9)).astype(np.float32)


def _sweep(t: np.ndarray, start_hz: float, end_hz: float, decay: float, sr: int) -> np.ndarray:
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / decay)
    return np.sin(2 * np.pi * np.cumsum(frequency) / sr)


def analog_kick(
    sr: int, rng: np.random.Generator, *, boom: bool, drive: float, click_hz: float
) -> np.ndarray:
    """A pitch-enveloped sine: short and punchy with a tonal click, or a long low boom."""
    length = rng.uniform(0.7, 1.0) if boom else rng.uniform(0.25, 0.45)
    t = np.arange(int(length * sr)) / sr
    start, end = (rng.uniform(90, 150), rng.uniform(38, 50)) if boom else (
        rng.uniform(250, 450), rng.uniform(50, 70))  # fmt: skip
    body = _sweep(t, start, end, rng.uniform(0.01, 0.03), sr)
    body *= np.exp(-t / (rng.uniform(0.35, 0.6) if boom else rng.uniform(0.07, 0.15)))
    click = np.sin(2 * np.pi * click_hz * t) * np.exp(-t / 0.003)
    out = np.tanh(drive * (body + rng.uniform(0.2, 0.6) * click)) * np.minimum(1.0, t / 0.0008)
    return _normalised(out)


def layered_kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Sub, punch and transient layers, saturated: how a sample-pack kick is built."""
    t = np.arange(int(rng.uniform(0.35, 0.6) * sr)) / sr
    sub_hz = rng.uniform(45, 60)
    sub = np.sin(2 * np.pi * sub_hz * t) * np.exp(-t / rng.uniform(0.15, 0.3))
    punch = _sweep(t, rng.uniform(180, 300), rng.uniform(70, 100), 0.012, sr) * np.exp(-t / 0.05)
    transient = filtered(rng.standard_normal(t.size), (2000.0, 9000.0), "bandpass", sr)
    transient *= np.exp(-t / rng.uniform(0.002, 0.008))
    mix = sub + rng.uniform(0.5, 1.0) * punch + rng.uniform(0.3, 1.2) * transient
    return _normalised(np.tanh(rng.uniform(1.5, 4.0) * mix) * np.minimum(1.0, t / 0.0005))


def soft_kick(sr: int, rng: np.random.Generator) -> np.ndarray:
    """A rounded, low kick (deep house, tech house): slow pitch fall, barely any click."""
    t = np.arange(int(rng.uniform(0.3, 0.5) * sr)) / sr
    body = _sweep(t, rng.uniform(100, 150), rng.uniform(48, 65), rng.uniform(0.02, 0.05), sr)
    body *= np.exp(-t / rng.uniform(0.12, 0.25)) * np.minimum(1.0, t / 0.002)
    knock = filtered(rng.standard_normal(t.size), (300.0, 1500.0), "bandpass", sr)
    return _normalised(body + rng.uniform(0.05, 0.25) * knock * np.exp(-t / 0.006))


def rim(sr: int, rng: np.random.Generator) -> np.ndarray:
    """A short, high, woody click: rimshot, clave or wood block."""
    t = np.arange(int(0.08 * sr)) / sr
    hz = rng.uniform(700, 2500)
    tone = np.sin(2 * np.pi * hz * t) + 0.5 * np.sin(2 * np.pi * hz * 1.48 * t)
    return _normalised(tone * np.exp(-t / rng.uniform(0.008, 0.025)))


def noise_snare(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Two decaying tones (the shell) under band-passed noise (the wires)."""
    t = np.arange(int(0.35 * sr)) / sr
    low = rng.uniform(150, 220)
    tones = np.sin(2 * np.pi * low * t) + 0.6 * np.sin(2 * np.pi * low * 1.6 * t)
    tones *= np.exp(-t / rng.uniform(0.03, 0.07))
    wires = filtered(rng.standard_normal(t.size), (rng.uniform(1500, 3000), 9000.0), "bandpass", sr)
    wires *= np.exp(-t / rng.uniform(0.06, 0.16))
    return _normalised(rng.uniform(0.4, 1.0) * tones + wires)


def burst_clap(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Three to five hand claps a few ms apart at random, then a short room tail."""
    t = np.arange(int(0.5 * sr)) / sr
    envelope = np.zeros_like(t)
    onset = 0.0
    for _ in range(int(rng.integers(3, 6))):
        envelope += (t >= onset) * np.exp(-np.maximum(t - onset, 0) / rng.uniform(0.003, 0.008))
        onset += rng.uniform(0.006, 0.015)
    envelope += 0.5 * (t >= onset) * np.exp(-np.maximum(t - onset, 0) / rng.uniform(0.08, 0.2))
    noise = filtered(rng.standard_normal(t.size), (rng.uniform(700, 1400), 6000.0), "bandpass", sr)
    return _normalised(noise * envelope)


def metallic_hat(sr: int, rng: np.random.Generator, *, decay: float) -> np.ndarray:
    """Six detuned square waves, high-passed: the metallic hat of an analog drum machine."""
    t = np.arange(int(max(0.15, 5 * decay) * sr)) / sr
    scale = rng.uniform(0.9, 1.25)
    squares = sum(
        np.sign(np.sin(2 * np.pi * hz * scale * t + rng.uniform(0, 6.28))) for hz in METAL_HZ
    )
    out = filtered(squares, rng.uniform(6000, 9000), "highpass", sr) * np.exp(-t / decay)
    return _normalised(out)


def shaker(sr: int, rng: np.random.Generator) -> np.ndarray:
    """Noise that swells over a few ms and fades: a shaker, softer-edged than a hat."""
    t = np.arange(int(0.12 * sr)) / sr
    rise = rng.uniform(0.006, 0.02)
    envelope = np.minimum(1.0, t / rise) * np.exp(
        -np.maximum(t - rise, 0) / rng.uniform(0.02, 0.05)
    )
    noise = filtered(
        rng.standard_normal(t.size), (rng.uniform(3500, 5500), 10000.0), "bandpass", sr
    )
    return _normalised(noise * envelope)


def tom(sr: int, rng: np.random.Generator) -> np.ndarray:
    """A pitched drum for fills."""
    t = np.arange(int(0.35 * sr)) / sr
    body = _sweep(t, rng.uniform(180, 300), rng.uniform(90, 150), 0.03, sr)
    return _normalised(body * np.exp(-t / rng.uniform(0.08, 0.2)))


def ride(sr: int, rng: np.random.Generator, *, length: float) -> np.ndarray:
    """Metal plus noise with a long decay: an analog crash or ride."""
    t = np.arange(int(length * sr)) / sr
    metal = sum(np.sin(2 * np.pi * hz * rng.uniform(2.0, 4.0) * t) for hz in METAL_HZ)
    noise = rng.standard_normal(t.size)
    out = filtered(0.4 * metal + noise, 4000.0, "highpass", sr) * np.exp(-t / (length / 3))
    return _normalised(out)


def noise_sweep(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """White noise whose band rises from dark to bright: four bands cross-faded in turn."""
    t = np.arange(n) / max(n, 1)
    edges = (200.0, 800.0, 2500.0, 6000.0, 10000.0)
    out = np.zeros(n)
    centres = np.linspace(0.0, 1.0, len(edges) - 1)
    width = 1.0 / (len(edges) - 2)
    for k, centre in enumerate(centres):
        band = filtered(rng.standard_normal(n), (edges[k], edges[k + 1]), "bandpass", sr)
        out += band * np.clip(1.0 - np.abs(t - centre) / width, 0.0, 1.0)
    return (out * (0.2 + 0.8 * t**1.5)).astype(np.float32)


def pitch_riser(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A saw that climbs two or three octaves, with a wobble that speeds up."""
    t = np.arange(n) / max(n, 1)
    hz = rng.uniform(100, 250) * 2.0 ** (rng.uniform(2.0, 3.0) * t)
    phase = np.cumsum(hz) / sr
    saw = 2.0 * (phase % 1.0) - 1.0
    wobble = 0.7 + 0.3 * np.sin(2 * np.pi * np.cumsum(2.0 + 14.0 * t) / sr)
    return filtered(saw * wobble * t**1.2, 5000.0, "lowpass", sr)


def reverse_cymbal(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A crash played backwards: high noise swelling into the next downbeat."""
    t = np.arange(n) / max(n, 1)
    noise = filtered(rng.standard_normal(n), rng.uniform(3000, 6000), "highpass", sr)
    return (noise * np.exp(rng.uniform(4.0, 7.0) * (t - 1.0))).astype(np.float32)


def vinyl(n: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Record crackle: sparse clicks over a quiet hiss, at unit level."""
    hiss = 0.15 * filtered(rng.standard_normal(n), 3000.0, "lowpass", sr)
    clicks = np.zeros(n, dtype=np.float32)
    count = int(n / sr * rng.uniform(5, 20))
    clicks[rng.integers(0, n, count)] = rng.uniform(-1.0, 1.0, count)
    return hiss + filtered(clicks, 1500.0, "highpass", sr)
