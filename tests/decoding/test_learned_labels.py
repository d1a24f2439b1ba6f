"""The section labeller a fine-tune learns from its training folders: it learns a catalogue's
convention the hand priors contradict, it is kept only when cross-validation says it helps
every folder, and it travels inside the checkpoint to every loader."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tests.structure_factories import activations_from, make_annotation

from edm.audio.features import FeatureParams
from edm.data.annotations import Annotation
from edm.data.tracks import Track
from edm.decoding.activations import FrameActivations
from edm.decoding.decode import decode_structure
from edm.decoding.learned_labels import CHECKPOINT_KEY, SectionLabeller, checkpoint_labeller
from edm.inference.pipeline import File2Structure
from edm.models import MultiTaskModel, load_checkpoint, save_checkpoint
from edm.models.checkpoint import add_to_checkpoint
from edm.models.config import ModelConfig
from edm.training.section_labels import decide, labelled_track

FORM = ((1, "intro"), (9, "buildup"), (17, "drop"), (33, "breakdown"), (41, "buildup"),
        (49, "drop"), (65, "outro"))  # fmt: skip


def _unsure(annotation: Annotation, seed: int) -> FrameActivations:
    """A network sure of the beats and boundaries and unsure of every label."""
    activations = activations_from(annotation, noise=0.05, seed=seed)
    flat = np.full_like(activations.label, 1.0 / activations.label.shape[0])
    return replace(activations, label=flat)


def _catalogue_track(seed: int, quiet_label: str) -> tuple[Track, FrameActivations]:
    """A track of the usual form whose quiet section between the drops is called
    ``quiet_label`` by its annotators."""
    heard = make_annotation(bpm=120.0 + 2 * seed, downbeat=0.5 + 0.1 * seed, sections=FORM)
    called = heard.model_copy(
        update={
            "structure": [
                e.model_copy(update={"label": quiet_label}) if e.label == "breakdown" else e
                for e in heard.structure
            ]
        }
    )
    track = Track(f"t{seed}", Path(f"t{seed}.yaml"), Path(f"t{seed}.wav"), called)
    return track, _unsure(heard, seed)


def _labelled(folder: str, quiet_label: str, seeds: range) -> list:
    tracks = [_catalogue_track(seed, quiet_label) for seed in seeds]
    return [labelled_track(t, a, folder, 1.0 / len(tracks)) for t, a in tracks]


def test_a_catalogue_convention_the_hand_priors_contradict_is_learnt() -> None:
    outcome = decide(_labelled("catalogue", "breakbuild", range(8)))
    assert outcome.labeller is not None, outcome.reason
    assert outcome.learned["catalogue"] > outcome.hand["catalogue"] + 0.05
    vocabulary = outcome.labeller.labels
    called = ("intro", "buildup", "drop", "breakbuild", "buildup", "drop", "outro")
    catalogue_form = tuple(vocabulary.index(label) for label in called)
    assert outcome.labeller.forms == (catalogue_form,)  # the one form its tracks follow
    assert outcome.labeller.form_priors == (0.0,)

    track, activations = _catalogue_track(11, "breakbuild")  # a track it never saw
    by_hand = [s.label for s in decode_structure(activations).sections]
    learnt = [s.label for s in decode_structure(activations, None, outcome.labeller).sections]
    assert by_hand[3] == "breakdown"  # the priors: quiet bass between drops
    assert learnt[3] == "breakbuild"  # the catalogue's word for it
    assert learnt == [str(entry.label) for entry in track.annotation.structure]


def test_the_hand_priors_stay_when_a_folder_would_lose_its_labels() -> None:
    # The same-sounding section is a breakbuild in the catalogue and a breakdown in the
    # synthetic folder mixed in: no labeller can serve both, so none is kept.
    tracks = _labelled("catalogue", "breakbuild", range(6)) + _labelled(
        "synthetic", "breakdown", range(6, 12)
    )
    outcome = decide(tracks)
    assert outcome.labeller is None
    assert set(outcome.hand) == set(outcome.learned) == {"catalogue", "synthetic"}
    assert "kept the" in outcome.reason and "priors" in outcome.reason
    assert outcome.metrics()["labeller_kept"] == 0.0


def test_too_few_tracks_keep_the_hand_priors() -> None:
    outcome = decide(_labelled("catalogue", "breakbuild", range(3)))
    assert outcome.labeller is None and "fewer than 4" in outcome.reason


@pytest.mark.parametrize("engine", ["torch", "onnx"])
def test_the_labeller_travels_in_the_checkpoint_to_the_analyzer(
    tmp_path: Path, engine: str
) -> None:
    labeller = decide(_labelled("catalogue", "breakbuild", range(8))).labeller
    assert labeller is not None
    model = MultiTaskModel(ModelConfig(hidden_size=8, conv_channels=(4, 4), freq_pooling=(4, 4),
                                       temporal_dilations=(1, 2)))  # fmt: skip
    path = save_checkpoint(tmp_path / "best.pt", model, feature_params=FeatureParams().to_dict())
    assert File2Structure.from_checkpoint(path, engine=engine).section_labeller is None
    add_to_checkpoint(path, CHECKPOINT_KEY, labeller.to_plain())

    contents = load_checkpoint(path)  # weights_only: the labeller is plain lists and numbers
    carried = checkpoint_labeller(contents)
    assert isinstance(carried, SectionLabeller) and carried.tracks == 8
    _, activations = _catalogue_track(12, "breakbuild")
    learnt = decode_structure(activations, None, carried).sections
    assert [s.label for s in learnt] == [
        s.label for s in decode_structure(activations, None, labeller).sections
    ]
    # Every loader of the checkpoint (analyze, batch, serve, the pyfunc, the gate) builds this.
    analyzer = File2Structure.from_checkpoint(path, engine=engine)
    assert analyzer.section_labeller is not None
    assert analyzer.section_labeller.labels == labeller.labels
    assert np.allclose(analyzer.section_labeller.coef, labeller.coef)


def test_a_labeller_of_another_vocabulary_is_not_used() -> None:
    labeller = decide(_labelled("catalogue", "breakbuild", range(8))).labeller
    assert labeller is not None
    other = replace(labeller, labels=(*labeller.labels, "bridge"))
    _, activations = _catalogue_track(13, "breakbuild")
    assert not other.fits(activations)
    assert decode_structure(activations, None, other) == decode_structure(activations)
