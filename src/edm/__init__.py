"""edm: train, track, version, promote and serve EDM track-structure models."""

__version__ = "0.1.0"
