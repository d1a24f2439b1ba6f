"""Evaluation-only music: EDM-like tracks made another way than :mod:`edm.synth` makes them.

Never train on these. They exist to measure whether sections hold on music the training
generator never made: other sounds (FM bass, a sampler playing a plucked-string one-shot at
every pitch, additive pads, noise-built drums), other arrangement rules (sections of 4 to 20
bars, not always multiples of 8; forms without a buildup or with two drops in a row) and
other transitions (risers, snare fills, closing filters, silent gaps), with an energy that
does not always follow the template (a drop without bass, a breakdown that keeps its drums).
The annotations come from the arrangement itself, never from a model.

This package shares no code with :mod:`edm.synth` (``tests/benchmarks`` checks its imports).

    edm data other-music data/other --tracks 16 --seed 7
"""

from edm.benchmarks.render import OtherTrack, render_track, write_other_music

__all__ = ["OtherTrack", "render_track", "write_other_music"]
