"""Whole forms a labeller learns: decoded sections aligned to a form in order, with a split
section or a missed boundary at a cost, and a form winning over the label-to-label chain
when the evidence cannot tell the labels apart."""

from __future__ import annotations

import numpy as np
import pytest
from tests.structure_factories import activations_from, make_annotation

from edm.decoding.decode import heard_levels
from edm.decoding.forms import SKIP, SPLIT, align_to_form, chain_score
from edm.decoding.learned_labels import SectionLabeller, section_descriptors, section_labels

LABELS = ("intro", "buildup", "drop", "breakdown", "outro")
INTRO, BUILDUP, DROP, BREAKDOWN, OUTRO = range(5)
QUIET_OPENING = (INTRO, BREAKDOWN, BUILDUP, DROP, OUTRO)


def _evidence(path: list[int], sure: float = 0.0) -> np.ndarray:
    """Log evidence per section: ``sure`` for the label on ``path``, 0 for every other."""
    scores = np.zeros((len(path), len(LABELS)))
    scores[np.arange(len(path)), path] = sure
    return scores


def test_sections_matching_the_form_one_to_one_take_its_labels() -> None:
    score, path = align_to_form(QUIET_OPENING, _evidence(list(QUIET_OPENING), sure=1.0))
    assert path == list(QUIET_OPENING)
    assert score == pytest.approx(5.0)


def test_a_section_split_in_two_takes_its_label_twice_at_a_cost() -> None:
    split_drop = [INTRO, BREAKDOWN, BUILDUP, DROP, DROP, OUTRO]
    score, path = align_to_form(QUIET_OPENING, _evidence(split_drop, sure=1.0))
    assert path == split_drop
    assert score == pytest.approx(6.0 + SPLIT)


def test_a_missed_boundary_skips_a_label_of_the_form_at_a_cost() -> None:
    # The breakdown and the buildup heard as one section: the evidence says buildup.
    heard = [INTRO, BUILDUP, DROP, OUTRO]
    score, path = align_to_form(QUIET_OPENING, _evidence(heard, sure=1.0))
    assert path == heard
    assert score == pytest.approx(4.0 + SKIP)


def test_too_few_sections_cannot_follow_a_long_form() -> None:
    score, path = align_to_form(QUIET_OPENING, _evidence([INTRO]))
    assert score == -np.inf and path == []
    assert align_to_form((), _evidence([INTRO])) == (-np.inf, [])


def test_the_chain_score_adds_the_first_label_the_moves_and_the_evidence() -> None:
    first = np.log(np.full(5, 0.2))
    moves = np.log(np.full((5, 5), 0.2))
    scores = _evidence([INTRO, DROP], sure=1.5)
    assert chain_score(first, moves, scores, [INTRO, DROP]) == pytest.approx(2 * np.log(0.2) + 3.0)


def _uninformed_labeller(
    labels: tuple[str, ...], descriptors: int = 1, **forms: object
) -> SectionLabeller:
    """No regression evidence, a flat chain: only the forms can decide."""
    flat = np.log(np.full(len(labels), 1 / len(labels)))
    return SectionLabeller(
        labels=labels,
        classes=tuple(range(len(labels))),
        coef=np.zeros((len(labels), descriptors)),
        intercept=np.zeros(len(labels)),
        first=flat,
        moves=np.tile(flat, (len(labels), 1)),
        **forms,  # type: ignore[arg-type]
    )


def test_a_seen_form_decides_where_the_evidence_and_the_chain_cannot() -> None:
    form = ("intro", "breakdown", "buildup", "drop", "outro")
    annotation = make_annotation(
        bpm=128.0, downbeat=0.5, sections=tuple((1 + 8 * i, label) for i, label in enumerate(form))
    )
    activations = activations_from(annotation, noise=0.0, seed=0)
    vocabulary = section_labels(activations)
    bar = round(4 * 60 / 128 * activations.frame_rate)
    start = round(0.5 * activations.frame_rate)
    spans = [(start + 8 * i * bar, start + 8 * (i + 1) * bar) for i in range(len(form))]
    levels = heard_levels(activations)
    indices = tuple(vocabulary.index(label) for label in form)
    shorter = tuple(vocabulary.index(label) for label in ("intro", "buildup", "drop", "outro"))

    descriptors = section_descriptors(activations, spans, levels).shape[1]
    chain_only = _uninformed_labeller(vocabulary, descriptors)
    guessed = [activations.labels[i] for i in chain_only.label(activations, spans, levels)]
    assert guessed != list(form)

    with_forms = _uninformed_labeller(
        vocabulary, descriptors, forms=(indices, shorter), form_priors=(float(np.log(0.5)),) * 2
    )
    chosen = [activations.labels[i] for i in with_forms.label(activations, spans, levels)]
    assert chosen == list(form)

    back = SectionLabeller.from_plain(with_forms.to_plain())
    assert back.forms == with_forms.forms
    assert back.form_priors == pytest.approx(with_forms.form_priors)
    assert back.label(activations, spans, levels) == with_forms.label(activations, spans, levels)


def test_a_labeller_stored_before_forms_reads_back_without_any() -> None:
    plain = _uninformed_labeller(LABELS).to_plain()
    for key in ("forms", "form_priors", "hand_weight"):
        plain.pop(key)
    back = SectionLabeller.from_plain(plain)
    assert back.forms == () and back.form_priors == () and back.hand_weight == 0.0
