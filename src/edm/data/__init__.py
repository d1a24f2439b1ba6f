"""Annotations, datasets and lineage (which code and which data made a model)."""
