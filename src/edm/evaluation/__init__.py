"""Decoding activations into beats, bars and sections, and scoring them (mir_eval).

    from edm.evaluation import decode_structure, score_track, evaluate_dataset

Everything here is numpy and mir_eval: no torch, so decoding and scoring can be tested on
hand-made activations.
"""

from edm.evaluation.activations import FrameActivations
from edm.evaluation.decode import DecodeParams, decode_structure
from edm.evaluation.evaluate import EvaluationReport, evaluate_dataset
from edm.evaluation.metrics import METRIC_NAMES, aggregate, score_track
from edm.evaluation.structure import Section, TrackStructure
from edm.evaluation.tempo import BeatGrid, TempoSearch, estimate_beat_grid

__all__ = [
    "METRIC_NAMES",
    "BeatGrid",
    "DecodeParams",
    "EvaluationReport",
    "FrameActivations",
    "Section",
    "TempoSearch",
    "TrackStructure",
    "aggregate",
    "decode_structure",
    "estimate_beat_grid",
    "evaluate_dataset",
    "score_track",
]
