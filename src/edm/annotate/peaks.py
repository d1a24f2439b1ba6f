"""The waveform the page draws, computed here once per audio file and cached by its hash.

The browser never decodes the track: it gets the peaks (JSON, a few hundred KB for a 6-minute
track) and streams the audio from ``/api/audio`` with range requests, so a long track opens at
once. Three bands, like the spec project's annotator: low (kick and bass, below 200 Hz), mid
(200 Hz - 2 kHz) and high (above), each the largest absolute sample per 1/50 s, scaled 0..100
against the loudest band of the track. ``full`` is the whole signal the same way, for the
overview.

Cache: ``<cache>/annotate-peaks/<sha256 of the audio>.json``, written atomically; the key is
the audio's bytes, so a renamed or copied file hits and an edited one misses.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from edm.atomic import write_text_atomically
from edm.audio.io import decode_audio
from edm.file_hash import file_sha256

log = logging.getLogger(__name__)

PER_SECOND = 50
ANALYSIS_RATE = 11025  # enough for bands that split at 2 kHz, and 4x less work than 44.1 kHz
CODE_VERSION = 1
_BANDS = (("low", None, 200.0), ("mid", 200.0, 2000.0), ("high", 2000.0, None))


def peaks_path(cache_dir: Path, audio: Path) -> Path:
    return cache_dir / "annotate-peaks" / f"{file_sha256(audio)}-v{CODE_VERSION}.json"


def track_peaks(audio: Path, cache_dir: Path) -> bytes:
    """The peaks' JSON for ``audio``, from the cache when it has them. AudioError when the
    file cannot be decoded."""
    cached = peaks_path(cache_dir, audio)
    try:
        return cached.read_bytes()
    except FileNotFoundError:
        pass
    text = json.dumps(compute_peaks(audio), separators=(",", ":"))
    try:
        write_text_atomically(cached, text)
    except OSError as exc:  # a read-only cache still gets its answer
        log.warning("peaks cache %s not written: %s", cached, exc)
    return text.encode("utf-8")


def compute_peaks(audio: Path) -> dict[str, object]:
    from scipy import signal

    samples, rate = decode_audio(audio)
    duration = len(samples) / rate
    if rate > ANALYSIS_RATE:
        import soxr

        samples = soxr.resample(samples, rate, ANALYSIS_RATE).astype(np.float32)
        rate = ANALYSIS_RATE
    hop = rate / PER_SECOND
    count = max(1, int(np.ceil(len(samples) / hop)))
    bands: dict[str, np.ndarray] = {"full": _block_peaks(samples, hop, count)}
    for name, low, high in _BANDS:
        if low is None:
            sos = signal.butter(4, high, "lowpass", fs=rate, output="sos")
        elif high is None or high >= rate / 2:
            sos = signal.butter(4, low, "highpass", fs=rate, output="sos")
        else:
            sos = signal.butter(4, (low, high), "bandpass", fs=rate, output="sos")
        bands[name] = _block_peaks(signal.sosfilt(sos, samples), hop, count)
    loudest = max(float(bands["full"].max()), 1e-9)
    return {
        "duration": round(duration, 4),
        "per_second": PER_SECOND,
        "scale": 100,
        **{
            name: np.round(values / loudest * 100).astype(int).tolist()
            for name, values in bands.items()
        },
    }


def _block_peaks(samples: np.ndarray, hop: float, count: int) -> np.ndarray:
    edges = np.minimum((np.arange(count + 1) * hop).astype(np.int64), len(samples))
    magnitude = np.abs(samples)
    starts = edges[:-1]
    nonempty = edges[1:] > starts
    peaks = np.zeros(count, dtype=np.float64)
    if nonempty.any():
        peaks[nonempty] = np.maximum.reduceat(magnitude, starts[nonempty])
    return np.minimum(peaks, 1e9)
