"""Scoring decoded structure against annotations (mir_eval), over one track or a dataset.

    from edm.evaluation import score_track, evaluate_dataset

Decoding itself lives in :mod:`edm.decoding`, so that running a model never loads mir_eval.
"""

from edm.evaluation.evaluate import EvaluationReport, evaluate_dataset
from edm.evaluation.metrics import METRIC_NAMES, aggregate, score_track

__all__ = [
    "METRIC_NAMES",
    "EvaluationReport",
    "aggregate",
    "evaluate_dataset",
    "score_track",
]
