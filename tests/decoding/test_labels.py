"""The label decoder's priors: what decides a section's label when the network is unsure or
sure of the wrong thing, on constructed section evidence."""

from __future__ import annotations

import numpy as np
from tests.structure_factories import activations_from, make_annotation

from edm.decoding.decode import DecodeParams, decode_structure
from edm.decoding.labels import LabelPriors, label_sections
from edm.vocabulary import LABELS

_LABELS = LABELS[:-1]  # no "unlabeled" after the music starts


def _probabilities(rows: list[dict[str, float]]) -> np.ndarray:
    table = np.full((len(rows), len(_LABELS)), 0.05)
    for row, named in enumerate(rows):
        for name, value in named.items():
            table[row, _LABELS.index(name)] = value
    return table


def test_hats_and_snares_tell_a_buildup_from_a_breakdown_where_the_network_cannot() -> None:
    # Between two drops a section without kick or bass, the network unsure whether it is a
    # breakdown or a buildup: a busy high band (hats, snares, a riser) makes it a buildup, a
    # quiet one (the drums stop) a breakdown.
    probabilities = _probabilities(
        [
            {"intro": 0.5},
            {"buildup": 0.5},
            {"drop": 0.7},
            {"breakdown": 0.3, "buildup": 0.3},
            {"drop": 0.7},
            {"outro": 0.5},
        ]
    )
    rise = np.zeros(len(probabilities))

    def fourth(high: float, priors: LabelPriors | None = None) -> str:
        # low, mid, high per section
        energy = np.array(
            [
                [0.4, 0.3, 0.2],
                [0.2, 0.6, 0.8],
                [1.0, 0.9, 1.0],
                [0.1, 0.5, high],
                [1.0, 0.9, 1.0],
                [0.5, 0.3, 0.2],
            ]
        )
        return _LABELS[label_sections(probabilities, energy, rise, _LABELS, priors)[3]]

    assert fourth(high=0.9) == "buildup"
    assert fourth(high=0.1) == "breakdown"
    assert fourth(high=0.9, priors=LabelPriors(buildup_high=0.0)) == "breakdown"


def test_an_outro_decoded_as_two_sections_is_one() -> None:
    # The outro changes halfway (a part drops out) and the boundary evidence there is clear:
    # the decoder places a boundary, both parts are labelled outro, and they are made one.
    sections = ((1, "intro"), (9, "buildup"), (17, "drop"), (33, "outro"), (37, "outro"))
    annotation = make_annotation(sections=sections, tail_bars=8)
    activations = activations_from(annotation)
    split = decode_structure(activations, DecodeParams(labels=LabelPriors(one_outro=False)))
    assert [s.label for s in split.sections][-2:] == ["outro", "outro"]
    joined = decode_structure(activations)
    assert [s.label for s in joined.sections] == ["intro", "buildup", "drop", "outro"]
    outro, first_part = joined.sections[-1], split.sections[-2]
    assert outro.start == first_part.start and outro.end == split.sections[-1].end
    assert 0.0 < outro.confidence <= 1.0


def test_an_outro_split_in_two_keeps_both_parts() -> None:
    # Nothing but an outro may follow an outro (the grammar), so an outro before the last
    # section costs nothing more: an outro split in two keeps both parts.
    probabilities = _probabilities([{"intro": 0.6}, {"drop": 0.7}, {"outro": 0.6}, {"outro": 0.6}])
    energy = np.array([[0.3] * 3, [1.0] * 3, [0.4] * 3, [0.3] * 3])
    chosen = label_sections(probabilities, energy, np.zeros(4), _LABELS)
    assert [_LABELS[i] for i in chosen] == ["intro", "drop", "outro", "outro"]
