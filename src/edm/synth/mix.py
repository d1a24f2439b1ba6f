"""Mix bus and mastering, drawn per track: EQ tilt and filtering, a short reverb, bus
compression, saturation, a noise floor, and a loudness from quiet to slammed.

Cheap on purpose (a few whole-array passes, one short FFT convolution): the chain should not
cost more than the stems.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from edm.synth.instruments import filtered


def master(mix: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """``mix`` through a mastering chain drawn from ``rng``, as float32 within -1..1."""
    u = rng.uniform
    mix = mix.astype(np.float32)
    # Tilt: more or less low end and air, as different engineers and genres like it.
    low_gain, high_gain = 10 ** (u(-6.0, 6.0) / 20) - 1, 10 ** (u(-6.0, 6.0) / 20) - 1
    # Zero-phase (a linear-phase mastering EQ): a causal shelf would delay the kick's body
    # against its click by milliseconds, and move its onset off the annotated beat.
    mix = mix + low_gain * _zero_phase(mix, u(120, 300), "lowpass", sr)
    mix = mix + high_gain * _zero_phase(mix, u(3000, 7000), "highpass", sr)
    if rng.random() < 0.4:
        mix = _zero_phase(mix, u(20, 60), "highpass", sr)
    if rng.random() < 0.2:  # a darker, lo-fi master
        mix = _zero_phase(mix, u(5000, 9000), "lowpass", sr)
    if rng.random() < 0.6:
        mix = _reverb(mix, rng, sr)
    if rng.random() < 0.7:
        mix = _compressed(mix, rng, sr)
    if rng.random() < 0.5:  # warmth, not distortion: harder drive moves the kick's onset
        drive = u(0.5, 2.0)
        peak = max(float(np.abs(mix).max()), 1e-9)
        mix = (np.tanh(drive * mix / peak) / np.tanh(drive) * peak).astype(np.float32)
    if rng.random() < 0.5:
        floor_db = u(-75.0, -50.0)
        mix += np.float32(10 ** (floor_db / 20) * max(float(np.abs(mix).max()), 1e-9)) * (
            filtered(rng.standard_normal(mix.size), u(2000, 10000), "lowpass", sr)
        )
    return _loudness(mix, rng)


def _zero_phase(mix: np.ndarray, cutoff_hz: float, kind: str, sr: int) -> np.ndarray:
    sos = signal.butter(2, cutoff_hz, btype=kind, fs=sr, output="sos")
    return signal.sosfiltfilt(sos, mix).astype(np.float32)


def _reverb(mix: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A room or hall: convolution with a decaying, darkened noise tail."""
    decay = rng.uniform(0.08, 0.5)
    t = np.arange(int(3 * decay * sr)) / sr
    tail = filtered(rng.standard_normal(t.size), rng.uniform(2500, 8000), "lowpass", sr)
    tail *= np.exp(-t / decay) * np.minimum(1.0, t / 0.01)
    tail /= np.sqrt(np.sum(tail**2)) + 1e-9
    wet = signal.oaconvolve(mix, tail.astype(np.float32))[: mix.size]
    return (mix + rng.uniform(0.05, 0.35) * wet).astype(np.float32)


def _compressed(mix: np.ndarray, rng: np.random.Generator, sr: int) -> np.ndarray:
    """A bus compressor on 5 ms blocks: gain reduction above a threshold, reached within the
    attack time (so that a kick's transient passes, as on a real bus) and let go within the
    release time."""
    block = max(1, int(0.005 * sr))
    n_blocks = -(-mix.size // block)
    padded = np.pad(mix, (0, n_blocks * block - mix.size))
    level = np.sqrt(np.mean(padded.reshape(n_blocks, block) ** 2, axis=1)) + 1e-9
    level_db = 20 * np.log10(level / level.max())
    threshold, ratio = rng.uniform(-24.0, -8.0), rng.uniform(2.0, 8.0)
    target_db = np.maximum(level_db - threshold, 0.0) * (1.0 - 1.0 / ratio)
    attack = np.exp(-0.005 / rng.uniform(0.005, 0.03))
    release = np.exp(-0.005 / rng.uniform(0.05, 0.3))
    reduction_db = np.empty(n_blocks)
    current = 0.0
    for k, target in enumerate(target_db.tolist()):  # 200 blocks a second: cheap in Python
        coefficient = attack if target > current else release
        current = coefficient * current + (1.0 - coefficient) * target
        reduction_db[k] = current
    centres = np.arange(n_blocks) * block + block / 2
    gain = 10 ** (-np.interp(np.arange(mix.size), centres, reduction_db) / 20)
    return (mix * gain).astype(np.float32)


def _loudness(mix: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Quiet (peaks well below full scale) to slammed (pushed up to 9 dB into a limiter)."""
    mix = mix / max(float(np.abs(mix).max()), 1e-9)
    if rng.random() < 0.4:
        push_db, release = rng.uniform(3.0, 9.0), rng.uniform(0.08, 0.25)
        mix = _limited(mix * np.float32(10 ** (push_db / 20)), release=release)
    peak_dbfs = rng.uniform(-14.0, -0.3)
    return (mix * np.float32(10 ** (peak_dbfs / 20) / max(float(np.abs(mix).max()), 1e-9))).astype(
        np.float32
    )


def _limited(mix: np.ndarray, *, release: float, block: int = 64) -> np.ndarray:
    """A look-ahead peak limiter to unit level: gain follows the block peaks (the block before
    and after too, so the gain is down before a kick arrives) and recovers over ``release``
    seconds (slower than a beat: a gain rising back before every kick would be an onset).
    Waveshaping instead would flatten the kick's attack and move its onset."""
    n_blocks = -(-mix.size // block)
    peaks = np.abs(np.pad(mix, (0, n_blocks * block - mix.size))).reshape(n_blocks, block).max(1)
    gain = np.minimum(1.0, 1.0 / np.maximum(peaks, 1e-9))
    gain = np.minimum(gain, np.minimum(np.roll(gain, 1), np.roll(gain, -1)))
    coefficient = np.exp(-block / 22050 / release)
    # Reduction instant, recovery from the deepest point at the release rate (peak hold).
    needed_db = -20 * np.log10(gain)
    held_db = np.empty_like(needed_db)
    current = 0.0
    for k, need in enumerate(needed_db.tolist()):  # ~340 blocks a second: cheap in Python
        current = max(need, current * coefficient)
        held_db[k] = current
    gain = 10 ** (-held_db / 20)
    centres = np.arange(n_blocks) * block + block / 2
    per_sample = np.interp(np.arange(mix.size), centres, gain)
    return np.clip(mix * per_sample, -1.0, 1.0).astype(np.float32)
