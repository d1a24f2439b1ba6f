"""Cheap numbers that describe one track and the model's answer on it, for drift checks.

Audio descriptors come from the log-mel features the pipeline computed anyway (no second
decode; the feature cache serves them without any decode at all):

- ``audio_duration``: seconds;
- ``loudness``: dB of the mean power between the features' ``fmin`` and ``fmax``, as RMS dBFS
  (a full-scale sine is -3 dB): an approximation read back from the mel magnitudes, exact
  for broadband sound, low by a few dB for a pure tone in a wide (high) band;
- ``spectral_centroid``: Hz, the magnitude-weighted mean mel-band centre, loud frames counting
  more than quiet ones;
- ``onset_rate``: onsets per second, peaks of the log-mel spectral flux (50 ms apart at least)
  that stand one standard deviation above its mean.

Output descriptors: ``bpm`` (absent when no beat was found), ``n_sections``, ``confidence``
(the overall one) and ``label_share_<label>``: the share of the sections' time under each
label. A descriptor that cannot be computed is NaN; the drift statistics leave NaNs out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from edm.audio.features import FeatureParams, hz_to_mel, mel_to_hz
from edm.vocabulary import LABELS, UNLABELED

if TYPE_CHECKING:
    from edm.decoding.structure import TrackStructure

AUDIO_FEATURES = ("audio_duration", "loudness", "spectral_centroid", "onset_rate")
OUTPUT_FEATURES = ("bpm", "n_sections", "confidence")
SECTION_LABELS = tuple(label for index, label in enumerate(LABELS) if index != UNLABELED)
LABEL_SHARE_PREFIX = "label_share_"
FEATURES: tuple[str, ...] = (
    *AUDIO_FEATURES,
    *OUTPUT_FEATURES,
    *(LABEL_SHARE_PREFIX + label for label in SECTION_LABELS),
)
"""Every drift feature, in the order tables show them."""

SILENCE_DB = -120.0
_MIN_ONSET_GAP_SECONDS = 0.05
_FRAME_RATE = 50.0  # of the features computed for waveform models' descriptors


@dataclass(frozen=True)
class AudioDescriptors:
    audio_duration: float
    loudness: float
    spectral_centroid: float
    onset_rate: float

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in AUDIO_FEATURES}


def describe_log_mel(features: np.ndarray, params: FeatureParams) -> AudioDescriptors:
    """The audio descriptors of ``(n_mels, n_frames)`` log-mel features made with ``params``."""
    features = np.asarray(features, dtype=np.float64)
    n_frames = features.shape[-1]
    duration = max(n_frames - 1, 0) * params.hop_length / params.sample_rate
    if n_frames == 0:
        return AudioDescriptors(0.0, SILENCE_DB, math.nan, 0.0)
    mel = np.expm1(features) / params.log_multiplier  # the filterbank's output, in magnitudes
    edges = mel_to_hz(
        np.linspace(hz_to_mel(params.fmin), hz_to_mel(params.fmax), params.n_mels + 2)
    )
    # Each triangle is scaled to area one (peak 2 / width in Hz): times half its width it gives
    # back the magnitude under it, spread over about that many FFT bins (half its width in
    # bins). Taking each band's magnitude as flat across its bins gives the frame's power.
    half_width = (edges[2:] - edges[:-2]) / 2
    bins = np.maximum(half_width * params.n_fft / params.sample_rate, 1.0)
    magnitude = mel * half_width[:, None]
    per_frame = magnitude.sum(axis=0)
    power = float(np.mean(((magnitude**2) / bins[:, None]).sum(axis=0)))
    # White noise of RMS 1 gives a power of (3 n_fft / 8) (the Hann window's energy) per bin,
    # over n_fft / 2 bins: that is 0 dB, as in dBFS (RMS), where a full-scale sine is -3 dB.
    full_scale = (3 * params.n_fft / 8) * (params.n_fft / 2)
    floor = full_scale * 10 ** (SILENCE_DB / 10)
    loudness = 10 * math.log10(power / full_scale) if power > floor else SILENCE_DB
    total = per_frame.sum()
    centroid = float((edges[1:-1] @ magnitude).sum() / total) if total > 0 else math.nan
    return AudioDescriptors(
        audio_duration=float(duration),
        loudness=float(loudness),
        spectral_centroid=centroid,
        onset_rate=_onset_rate(features, params.frame_rate, duration),
    )


def describe_waveform(samples: np.ndarray, sample_rate: int) -> AudioDescriptors:
    """The audio descriptors of a mono waveform (models that take audio, not log-mel)."""
    from edm.audio.features import log_mel

    defaults = FeatureParams()
    params = replace(
        defaults,
        sample_rate=int(sample_rate),
        hop_length=max(1, round(sample_rate / _FRAME_RATE)),
        fmax=min(defaults.fmax, sample_rate / 2),
    )
    return describe_log_mel(log_mel(np.asarray(samples, dtype=np.float32), params), params)


def _onset_rate(features: np.ndarray, frame_rate: float, duration: float) -> float:
    from scipy.signal import find_peaks

    if features.shape[-1] < 3 or duration <= 0:
        return 0.0
    flux = np.maximum(np.diff(features, axis=-1), 0.0).sum(axis=0)
    if not flux.any():
        return 0.0
    peaks, _ = find_peaks(
        flux,
        height=flux.mean() + flux.std(),
        distance=max(1, round(_MIN_ONSET_GAP_SECONDS * frame_rate)),
    )
    return float(peaks.size / duration)


def describe_output(structure: TrackStructure) -> dict[str, float]:
    """The output descriptors of a decoded track (see the module text)."""
    values = {
        "bpm": float(structure.bpm) if structure.bpm is not None else math.nan,
        "n_sections": float(len(structure.sections)),
        "confidence": (
            float(structure.confidence.overall) if structure.confidence is not None else math.nan
        ),
    }
    total = sum(section.duration for section in structure.sections)
    for label in SECTION_LABELS:
        under = sum(s.duration for s in structure.sections if s.label == label)
        values[LABEL_SHARE_PREFIX + label] = under / total if total > 0 else math.nan
    return values


def track_descriptors(
    structure: TrackStructure, audio: AudioDescriptors | None = None
) -> dict[str, float]:
    """Every feature of :data:`FEATURES` for one track (audio ones NaN when ``audio`` is None)."""
    values = dict.fromkeys(AUDIO_FEATURES, math.nan)
    if audio is not None:
        values.update(audio.as_dict())
    values.update(describe_output(structure))
    return {name: values[name] for name in FEATURES}
