"""The tempo hints every analysing command takes (``analyze``, ``serve``, ``batch``)."""

from __future__ import annotations

# From the vocabulary, not edm.decoding: `edm --help` must not import scipy.
from edm.vocabulary import DEFAULT_MAX_BPM, DEFAULT_MIN_BPM

MIN_BPM_HELP = (
    f"Slowest tempo to consider (default {DEFAULT_MIN_BPM:g}); a hint for music you know, "
    "recorded in the results' tempo_range."
)
MAX_BPM_HELP = (
    f"Fastest tempo to consider (default {DEFAULT_MAX_BPM:g}); e.g. --max-bpm 140 keeps a "
    "half-time dubstep track at 70 rather than 140 when the evidence is even."
)
