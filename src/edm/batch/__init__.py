"""Catalogue-scale analysis on Apache Spark: a registered version's MLflow model over thousands
of tracks, resumable, one Parquet row per track (``edm batch analyze``).

A shell like ``edm.serving``: it imports inference and the registry's public API, and nothing
imports it. PySpark and MLflow load on first use.
"""

from edm.batch.job import run_batch
from edm.batch.options import BATCH_EXPERIMENT, BatchOptions, BatchSummary
from edm.batch.progress import BatchProgress
from edm.batch.results import read_results

__all__ = [
    "BATCH_EXPERIMENT",
    "BatchOptions",
    "BatchProgress",
    "BatchSummary",
    "read_results",
    "run_batch",
]
