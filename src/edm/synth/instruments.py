"""Sound sources for the synthetic tracks: drum one-shots, oscillators, filters.

Everything works on whole arrays (one numpy call per instrument and track, never a loop over
samples), so that a minute-long track renders in a fraction of a second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal


def midi_to_hz(midi: np.ndarray | float) -> np.ndarray:
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


def filtered(
    samples: np.ndarray, cutoff_hz: float | tuple[float, float], kind: str, sample_rate: int
) -> np.ndarray:
    """Second-order Butterworth ``lowpass``, ``highpass`` or ``bandpass``."""
    sos = signal.butter(2, cutoff_hz, btype=kind, fs=sample_rate, output="sos")
    return signal.sosfilt(sos, samples).astype(np.float32)


def kick(
    sample_rate: int,
    rng: np.random.Generator,
    *,
    start_hz: float,
    end_hz: float,
    pitch_decay: float,
    amp_decay: float,
    click: float,
) -> np.ndarray:
    """A sine whose pitch falls fast from ``start_hz`` to ``end_hz``, plus a short click."""
    t = np.arange(int(0.6 * sample_rate)) / sample_rate
    frequency = end_hz + (start_hz - end_hz) * np.exp(-t / pitch_decay)
    body = np.sin(2 * np.pi * np.cumsum(frequency) / sample_rate) * np.exp(-t / amp_decay)
    attack = np.minimum(1.0, t / 0.001)  # 1 ms: avoids a click of its own at the onset
    transient = click * rng.standard_normal(t.size) * np.exp(-t / 0.004)
    out = attack * body + transient
    return (out / np.abs(out).max()).astype(np.float32)


def noise_hit(
    sample_rate: int,
    rng: np.random.Generator,
    *,
    decay: float,
    band: float | tuple[float, float],
    kind: str,
    length: float,
    tone_hz: float = 0.0,
    bursts: int = 1,
) -> np.ndarray:
    """Filtered noise with an exponential decay: hats, claps, snares, crashes.

    ``bursts`` > 1 repeats the attack a few milliseconds apart, which is what makes a clap.
    """
    t = np.arange(int(length * sample_rate)) / sample_rate
    noise = filtered(rng.standard_normal(t.size), band, kind, sample_rate)
    envelope = np.exp(-t / decay)
    for k in range(1, bursts):
        delay = k * 0.011
        envelope += 0.8 * (t >= delay) * np.exp(-np.maximum(t - delay, 0) / 0.006)
    out = noise * envelope
    if tone_hz:
        out += 0.5 * np.sin(2 * np.pi * tone_hz * t) * np.exp(-t / (decay * 0.7))
    return (out / np.abs(out).max()).astype(np.float32)


def place_hits(
    n_samples: int, positions: np.ndarray, gains: np.ndarray, sample: np.ndarray
) -> np.ndarray:
    """The one-shot ``sample`` started at each position with its gain.

    A slice-add per hit: a track has at most a few thousand hits, and this is several times
    faster than one FFT convolution over the whole track.
    """
    out = np.zeros(n_samples, dtype=np.float32)
    for position, gain in zip(positions.tolist(), gains.tolist(), strict=True):
        if gain <= 0 or not 0 <= position < n_samples:
            continue
        length = min(sample.size, n_samples - position)
        out[position : position + length] += np.float32(gain) * sample[:length]
    return out


@dataclass(frozen=True)
class Notes:
    """Notes of one monophonic voice, sorted by start; lengths and starts in samples."""

    starts: np.ndarray
    lengths: np.ndarray
    midi: np.ndarray
    gains: np.ndarray
    decays: np.ndarray  # seconds

    @classmethod
    def empty(cls) -> Notes:
        zero = np.zeros(0)
        return cls(zero.astype(np.int64), zero.astype(np.int64), zero, zero, zero)


def render_notes(
    n_samples: int,
    notes: Notes,
    sample_rate: int,
    *,
    shape: str,
    attack: float,
    sustain: float,
    cutoff_hz: float | None,
    bright_decay: float | None = None,
    detune_cents: float = 0.0,
    polyphonic: bool = False,
) -> np.ndarray:
    """A synth voice: oscillator, then envelope (attack, decay to ``sustain``), then a low-pass
    filter. ``shape`` is ``saw``, ``square``, ``sine`` or ``fm`` (a two-operator FM tone). With
    ``bright_decay`` (s) the harmonics fade within each note, as under a filter envelope; with
    ``detune_cents``, three oscillators spread around the pitch (a supersaw). ``polyphonic``
    notes may overlap (chords); otherwise they must not.
    """
    out = np.zeros(n_samples, dtype=np.float32)
    audible = notes.gains > 0
    if not audible.any():
        return out
    starts, lengths = notes.starts[audible], notes.lengths[audible]
    # Only the samples under a note are computed: silent sections cost nothing. Sample k of
    # note i is simply starts[i] + k.
    index = np.repeat(np.arange(starts.size), lengths)
    age_int = np.arange(index.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    t = starts[index] + age_int
    inside = (t >= 0) & (t < n_samples)
    if not inside.all():
        index, age_int, t = index[inside], age_int[inside], t[inside]
    if t.size == 0:
        return out
    age = age_int.astype(np.float32)
    remaining = lengths[index].astype(np.float32) - age

    frequency = midi_to_hz(notes.midi[audible]).astype(np.float32)[index]
    # Phase runs on across notes (and across the skipped silences), so note changes do not
    # click; a detuned oscillator's phase is the same sum scaled.
    cycles = np.cumsum(frequency / np.float32(sample_rate), dtype=np.float64)
    seconds = age / np.float32(sample_rate)
    fade = None
    if bright_decay is not None and shape != "sine":
        fade = np.exp(-seconds / np.float32(bright_decay))
    ratios = (
        (1.0,)
        if not detune_cents
        else tuple(2 ** (c / 1200) for c in (-detune_cents, 0.0, detune_cents))
    )
    wave = np.zeros(t.size, dtype=np.float32)
    for ratio in ratios:
        phase = ((cycles * ratio) % 1.0).astype(np.float32)
        wave += _oscillator(phase, shape, fade)
    if len(ratios) > 1:
        wave *= np.float32(len(ratios) ** -0.5)

    decay = notes.decays[audible].astype(np.float32)[index]
    envelope = np.minimum(1.0, seconds / np.float32(attack)) * (
        sustain + (1.0 - sustain) * np.exp(-seconds / decay)
    )
    release = np.clip(remaining / (0.005 * sample_rate), 0.0, 1.0)  # 5 ms: no click at note end
    gains = notes.gains[audible].astype(np.float32)[index]
    sound = wave * envelope * release * gains
    if polyphonic:
        out += np.bincount(t, weights=sound, minlength=n_samples).astype(np.float32)
    else:
        out[t] = sound
    if cutoff_hz is None:
        return out
    # The filter's tail after the last note is a few ms: filter the sounding span only.
    first, last = int(t.min()), min(n_samples, int(t.max()) + sample_rate // 10)
    out[first:last] = filtered(out[first:last], cutoff_hz, "lowpass", sample_rate)
    return out


def _oscillator(phase: np.ndarray, shape: str, fade: np.ndarray | None) -> np.ndarray:
    if shape == "fm":  # a sine phase-modulated at twice its pitch; the index falls with fade
        index = np.float32(3.0) if fade is None else np.float32(0.3) + np.float32(3.0) * fade
        two_pi_phase = np.float32(2 * np.pi) * phase
        return np.sin(two_pi_phase + index * np.sin(2 * two_pi_phase))
    if shape == "saw":
        wave = 2.0 * phase - 1.0
    elif shape == "square":
        wave = np.where(phase < 0.5, np.float32(1.0), np.float32(-1.0))
    else:
        return np.sin(np.float32(2 * np.pi) * phase)
    if fade is None:
        return wave
    sine = np.sin(np.float32(2 * np.pi) * phase)
    return sine + (wave - sine) * fade


def riser(
    n_samples: int, sample_rate: int, rng: np.random.Generator, *, low_hz: float, high_hz: float
) -> np.ndarray:
    """A buildup riser: noise that grows brighter and louder, plus an upward pitch sweep."""
    t = np.arange(n_samples) / max(n_samples, 1)
    ramp = t**2
    dark = filtered(rng.standard_normal(n_samples), 1500.0, "lowpass", sample_rate)
    bright = filtered(rng.standard_normal(n_samples), 3000.0, "highpass", sample_rate)
    noise = (1.0 - t) * dark + t * bright
    sweep_hz = low_hz * (high_hz / low_hz) ** t
    sweep = np.sin(2 * np.pi * np.cumsum(sweep_hz) / sample_rate)
    return ((0.8 * noise + 0.35 * sweep) * ramp).astype(np.float32)
