"""Activations → structure: a beat grid, downbeats, sections, labels and energy per section.

    from edm.decoding import decode_structure
    structure = decode_structure(activations)   # a TrackStructure

Plain numpy and scipy, no torch and no scoring library: inference decodes with this, and
``edm.evaluation`` scores what it decodes.
"""

from edm.decoding.activations import FrameActivations
from edm.decoding.decode import DecodeParams, decode_structure
from edm.decoding.structure import Section, TrackStructure
from edm.decoding.tempo import BeatGrid, TempoSearch, estimate_beat_grid

__all__ = [
    "BeatGrid",
    "DecodeParams",
    "FrameActivations",
    "Section",
    "TempoSearch",
    "TrackStructure",
    "decode_structure",
    "estimate_beat_grid",
]
