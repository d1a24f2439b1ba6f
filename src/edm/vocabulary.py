"""The words every layer of edm shares, defined once: audio, data, models, decoding and the
synthetic generator import them from here.

Plain Python only (no numpy, torch or pydantic), so that anything can import it for free.
"""

from __future__ import annotations

from typing import Literal, get_args

Label = Literal["intro", "buildup", "drop", "breakdown", "breakbuild", "outro", "unlabeled"]
LABELS: tuple[str, ...] = get_args(Label)
"""Section labels, in the order of the model's class indices."""
UNLABELED = LABELS.index("unlabeled")
"""Index of the label of frames before the first section starts (lead-in silence or noise)."""

ENERGY_BANDS: tuple[str, ...] = ("low", "mid", "high")
"""Loudness bands: kick and bass; leads, pads and chords; hats, noise and risers."""

BEATS_PER_BAR = 4
"""EDM is in 4/4: the decoder and the synthetic generator count bars of four beats."""

DEFAULT_MIN_BPM = 60.0
DEFAULT_MAX_BPM = 210.0
"""The tempo range decoding considers unless told otherwise (--min-bpm/--max-bpm): every tempo
a DJ plays, from downtempo to hardcore."""

MEL_SAMPLE_RATE = 22050
"""Rate the log-mel features are computed at (the cnn backbone's input, and synthetic tracks)."""
MERT_SAMPLE_RATE = 24000
"""Rate the MERT encoders were pretrained at: their audio must come at exactly this rate."""

InputKind = Literal["mel", "audio"]
"""What a backbone takes: log-mel features (``mel``) or the mono waveform (``audio``)."""
INPUT_KINDS: tuple[str, ...] = get_args(InputKind)

__all__ = [
    "BEATS_PER_BAR",
    "ENERGY_BANDS",
    "INPUT_KINDS",
    "LABELS",
    "MEL_SAMPLE_RATE",
    "MERT_SAMPLE_RATE",
    "UNLABELED",
    "InputKind",
    "Label",
]
