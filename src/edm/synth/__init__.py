"""Synthetic EDM tracks with exact annotations, for demos, tests and training.

    from edm.synth import SynthConfig, write_synthetic_dataset
    write_synthetic_dataset(Path("data/synthetic"), 32, seed=0)

Each track is 4/4 at 118 to 150 BPM, starts with 0 to 2 s of silence or noise (and perhaps a
pickup) before the first downbeat, and follows the EDM form (intro, buildup, drop, breakdown,
[breakbuild], buildup, drop, …, outro) on the phrase grid. The instruments carry the form the
way real tracks do: the whole band arriving at the drop, risers and snare rolls in buildups,
bass and lead loudest in drops, pads in breakdowns.

Every track draws one sound family and one arrangement family (:mod:`~edm.synth.families`;
recorded in the annotation's metadata), and within them its tempo, key, chords, instrument
designs, patterns, levels, mix and master, so that a model has to learn the form rather than
one generator's sounds. ``min_seconds``/``max_seconds`` bound every track's real length
(:mod:`~edm.synth.lengths`).

One job per module, in the order a track is made: :mod:`~edm.synth.families` (the names and
the draw), :mod:`~edm.synth.arrangements` (each arrangement family's sections and parts),
:mod:`~edm.synth.form` (the timeline, fitted to the length by :mod:`~edm.synth.lengths`),
:mod:`~edm.synth.kits` (each sound family's designs, from :mod:`~edm.synth.instruments` and
:mod:`~edm.synth.oneshots`), :mod:`~edm.synth.stems` (the arrangement played, one stem per
part), :mod:`~edm.synth.mix` (bus and mastering), :mod:`~edm.synth.render` (the track and its
annotation), :mod:`~edm.synth.dataset` (files on disk). The same ``seed`` gives byte-identical
WAV and YAML files.
"""

from edm.synth.config import SynthConfig
from edm.synth.dataset import write_synthetic_dataset
from edm.synth.families import ARRANGEMENT_FAMILIES, SOUND_FAMILIES
from edm.synth.form import SectionPlan, plan_form
from edm.synth.render import SyntheticTrack, generate_track

__all__ = [
    "ARRANGEMENT_FAMILIES",
    "SOUND_FAMILIES",
    "SectionPlan",
    "SynthConfig",
    "SyntheticTrack",
    "generate_track",
    "plan_form",
    "write_synthetic_dataset",
]
