"""Watching a model at work: cheap descriptors of each track, and drift against a reference.

- ``descriptors``: per track, of its audio (duration, loudness, spectral centroid, onset rate,
  from what the pipeline already decoded) and of the model's answer (BPM, number of sections,
  confidence, share of each section label);
- ``drift``: PSI (quantile bins of the reference) and the two-sample KS test, per feature,
  with a status (ok / warn / drift);
- ``reference``: the descriptors of a version's evaluation set, as a JSON document stored on
  the version (``edm evaluate --log``) and read back by the service and ``edm monitor drift``.

numpy and scipy only: no drift library (see DESIGN.md).
"""
