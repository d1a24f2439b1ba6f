"""The flywheel's library part: what reviewers changed against the version that proposed it.

- ``changes``: find reviewed files that keep the proposal they started from (in the folder's
  ``.history/`` as ``edm annotate`` keeps it, or in ``.proposals/`` beside the file), and
  compare the two: boundary F at 0.5 s and 3 s, label accuracy, BPM within 4 %, downbeat
  offset, edits made, seconds spent where known;
- ``stats``: those comparisons aggregated per version, as metrics to log on its run;
- ``queue``: what to review next, least confident and most drifted first, as a list
  ``edm annotate`` opens in that order.

The held-out split lives in :mod:`edm.data.split` (the gate and ``edm evaluate`` read it).
"""
