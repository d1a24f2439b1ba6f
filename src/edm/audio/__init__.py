"""Audio in, features out: decoding and resampling, log-mel features and their on-disk cache,
and the synthetic EDM track generator.

``load_features(path, params, cache=...)`` in :mod:`edm.audio.cache` is the one way the
training code gets features; it decodes a file only when its features are not cached yet.
"""
