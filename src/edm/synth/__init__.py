"""Synthetic EDM tracks with exact annotations, for demos and tests.

    from edm.synth import SynthConfig, write_synthetic_dataset
    write_synthetic_dataset(Path("data/synthetic"), 32, seed=0)

Each track is 4/4 at 118 to 150 BPM, starts with 0 to 2 s of silence or noise before the first
downbeat, and follows the EDM form (intro, buildup, drop, breakdown, [breakbuild], buildup,
drop, …, outro) in sections of 4 or 8 bars. The instruments carry the form the way real tracks
do: a kick on every beat in drops and none (or a muffled one) in breakdowns, risers and snare
rolls in buildups, bass and lead loudest in drops, pads in breakdowns. Tempo, key, chord
progression, kick tuning and decay, hat and bass patterns, timbres and levels are drawn per
track, so that a model has to learn the form rather than one track.

One job per module, in the order a track is made: :mod:`~edm.synth.form` (the arrangement),
:mod:`~edm.synth.instruments` (sound sources), :mod:`~edm.synth.stems` (the arrangement played,
one stem per part), :mod:`~edm.synth.render` (the mix and its annotation),
:mod:`~edm.synth.dataset` (files on disk). The same ``seed`` gives byte-identical WAV and YAML
files.
"""

from edm.synth.config import SynthConfig
from edm.synth.dataset import write_synthetic_dataset
from edm.synth.form import SectionPlan, plan_form
from edm.synth.render import SyntheticTrack, generate_track

__all__ = [
    "SectionPlan",
    "SynthConfig",
    "SyntheticTrack",
    "generate_track",
    "plan_form",
    "write_synthetic_dataset",
]
