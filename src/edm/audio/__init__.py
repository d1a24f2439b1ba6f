"""Audio in, features out: decoding and resampling, log-mel features and their on-disk cache.

``load_features(path, params, cache=...)`` in :mod:`edm.audio.cache` is the one way the
training code gets features; it decodes a file only when its features are not cached yet.
Nothing here knows about annotations (:mod:`edm.data` builds on this package, not the other
way round); the synthetic track generator is :mod:`edm.synth`.
"""
