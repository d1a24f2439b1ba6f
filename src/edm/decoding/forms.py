"""Whole forms: the label sequences a catalogue's tracks follow, as a labeller may learn them.

A label-to-label chain sees one step at a time, so it cannot know that a catalogue's tracks
go intro, breakdown, buildup, drop when they open quietly and intro, buildup, drop when they
do not. A form can: the labeller scores each form it was fitted on against the track's
sections and takes the best form when it beats the chain.

The decoded sections rarely match a form one to one: a section the decoder split in two
takes the same form label twice (:data:`SPLIT`), and two sections it heard as one skip a
label of the form (:data:`SKIP`).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import numpy as np

SPLIT = float(np.log(0.05))  # two decoded sections for one section of the form
SKIP = float(np.log(0.05))  # one section of the form no decoded section stands for
_NEVER = -1e18


def align_to_form(form: Sequence[int], scores: np.ndarray) -> tuple[float, list[int]]:
    """The best way the sections (rows of ``scores``: log evidence per label) follow
    ``form`` in order: the score, and the form's label per section. ``-inf`` and an empty
    path when they cannot (too few sections for the form)."""
    count, length = scores.shape[0], len(form)
    if count == 0 or length == 0:
        return -np.inf, []
    labels = np.asarray(form)
    best = np.full(length, _NEVER)
    best[0] = scores[0, labels[0]]
    if length > 1:
        best[1] = SKIP + scores[0, labels[1]]
    pointers = []
    for row in scores[1:]:
        stay = best + SPLIT
        step = np.concatenate([[_NEVER], best[:-1]])
        skip = np.concatenate([[_NEVER, _NEVER], best[:-2] + SKIP])[:length]
        options = np.stack([stay, step, skip])
        choice = options.argmax(axis=0)
        pointers.append(np.arange(length) - choice)
        best = options.max(axis=0) + row[labels]
    ends = [(best[-1], length - 1)]
    if length > 1:
        ends.append((best[-2] + SKIP, length - 2))
    score, position = max(ends)
    if score <= _NEVER / 2:
        return -np.inf, []
    path = [position]
    for back in reversed(pointers):
        path.append(int(back[path[-1]]))
    return float(score), [int(labels[k]) for k in reversed(path)]


def chain_score(first: np.ndarray, moves: np.ndarray, scores: np.ndarray, path: list[int]) -> float:
    """The log score of ``path`` under a label-to-label chain, evidence included."""
    total = first[path[0]] + sum(scores[i, label] for i, label in enumerate(path))
    return float(total + sum(moves[a, b] for a, b in pairwise(path)))
