"""Section labels learnt from reviewed tracks: the labeller a fine-tuned version carries.

The hand-set priors of :mod:`edm.decoding.labels` encode one idea of EDM form. A catalogue has
its own conventions (what its people call a buildup, which forms its tracks use), and a
network fine-tuned on a few of its tracks barely learns them: they live in the order and the
relative loudness of whole sections, which a frame classifier does not see. So a fine-tune
also fits this labeller on its training tracks (``edm.training.section_labels``), and it
travels inside the checkpoint, with the weights whose label probabilities it reads.

Per section, a multinomial logistic regression over track-relative descriptors: the
loudness and band levels ranked within the track, their change from the section before and
to the section after, first or last, place in the track, length against the track's median,
and the network's mean label log-probabilities; added to it, at ``hand_weight``, the evidence
the hand priors read (:func:`edm.decoding.labels.section_scores`: the network, energy,
place). Then the label sequence: the best of a Viterbi pass over the first-label and
label-to-label log-probabilities counted in the same tracks, and the whole forms those
tracks follow (:mod:`edm.decoding.forms`), a track being as likely to follow one of those
forms (each as often as it was seen) as the chain. A labeller stored before forms and the
hand evidence (none of either) decodes as it did. Numpy only: a served version needs
nothing more to use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edm.decoding.activations import FrameActivations
from edm.decoding.forms import align_to_form, chain_score
from edm.decoding.labels import best_path, rank_in_track

CHECKPOINT_KEY = "section_labeller"  # where a checkpoint keeps it (plain lists and numbers)
_FLOOR = 1e-3  # probability floor, as the hand priors use


def section_labels(activations: FrameActivations) -> tuple[str, ...]:
    """The labels a section can get: the network's vocabulary without the lead-in class."""
    row = activations.unlabeled_index
    return tuple(label for i, label in enumerate(activations.labels) if i != row)


def section_descriptors(
    activations: FrameActivations, spans: Sequence[tuple[int, int]], levels: np.ndarray
) -> np.ndarray:
    """One row per span; every column is relative to the track, none is a raw level.

    ``levels``: ``(3, T)`` low/mid/high loudness as the decoder hears it
    (``edm.decoding.decode.heard_levels``)."""
    bands = np.stack([levels[:, a:b].mean(axis=1) for a, b in spans])
    ranks = np.column_stack(
        [rank_in_track(bands.mean(axis=1)), *(rank_in_track(col) for col in bands.T)]
    )
    before = np.vstack([ranks[:1], ranks[:-1]])
    after = np.vstack([ranks[1:], ranks[-1:]])
    count = len(spans)
    lengths = np.array([max(b - a, 1) for a, b in spans], dtype=np.float64)
    place = np.column_stack(
        [
            np.arange(count) == 0,
            np.arange(count) == count - 1,
            np.array([a for a, _ in spans]) / max(activations.n_frames, 1),
            np.log(lengths / np.median(lengths)),
        ]
    )
    rows = [activations.labels.index(label) for label in section_labels(activations)]
    means = np.stack([activations.label[rows, a:b].mean(axis=1) for a, b in spans])
    network = np.log(np.clip(means, _FLOOR, None))
    return np.column_stack([ranks, ranks - before, after - ranks, place, network]).astype(
        np.float64
    )


@dataclass(frozen=True, eq=False)
class SectionLabeller:
    """A fitted labeller. ``labels``: what its columns mean (a network's section labels);
    ``classes``: the columns the regression saw (index into ``labels``); ``coef``
    ``(len(classes), n_descriptors)`` and ``intercept``; ``first`` and ``moves``: log
    probabilities of the first label and of label → label, over all of ``labels``;
    ``forms``: label sequences (indices into ``labels``) with their log share
    ``form_priors`` among the forms; ``hand_weight``: how much of the hand priors' evidence
    is added to the regression's."""

    labels: tuple[str, ...]
    classes: tuple[int, ...]
    coef: np.ndarray
    intercept: np.ndarray
    first: np.ndarray
    moves: np.ndarray
    tracks: int = 0  # how many tracks it was fitted on
    forms: tuple[tuple[int, ...], ...] = ()
    form_priors: tuple[float, ...] = ()
    hand_weight: float = 0.0

    def label(
        self,
        activations: FrameActivations,
        spans: Sequence[tuple[int, int]],
        levels: np.ndarray,
        hand: np.ndarray | None = None,
    ) -> list[int]:
        """Index into ``activations.labels`` per span: the most likely label sequence.
        ``hand``: the hand priors' evidence per span over ``activations.labels``
        (:func:`edm.decoding.labels.section_scores`), used when ``hand_weight`` is set."""
        x = section_descriptors(activations, spans, levels)
        logits = x @ self.coef.T + self.intercept
        logits -= logits.max(axis=1, keepdims=True)
        log_probabilities = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        scores = np.full((len(spans), len(self.labels)), np.log(_FLOOR))
        scores[:, list(self.classes)] = np.maximum(log_probabilities, np.log(_FLOOR))
        if self.hand_weight and hand is not None:
            columns = [activations.labels.index(label) for label in self.labels]
            scores = scores + self.hand_weight * np.maximum(hand[:, columns], -1e9)
        path = best_path(self.first, self.moves, scores)
        if self.forms:
            # Half the prior on the chain, half on the forms: log(0.5) on both sides.
            best = chain_score(self.first, self.moves, scores, path)
            for form, prior in zip(self.forms, self.form_priors, strict=True):
                score, form_path = align_to_form(form, scores)
                if score + prior > best:
                    best, path = score + prior, form_path
        return [activations.labels.index(self.labels[i]) for i in path]

    def fits(self, activations: FrameActivations) -> bool:
        """Whether it was fitted on this vocabulary (a checkpoint's network's labels)."""
        return section_labels(activations) == self.labels

    def to_plain(self) -> dict[str, Any]:
        """Lists and numbers only, as a ``weights_only`` checkpoint may hold."""
        return {
            "labels": list(self.labels),
            "classes": list(self.classes),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
            "first": self.first.tolist(),
            "moves": self.moves.tolist(),
            "tracks": self.tracks,
            "forms": [list(form) for form in self.forms],
            "form_priors": list(self.form_priors),
            "hand_weight": self.hand_weight,
        }

    @classmethod
    def from_plain(cls, plain: Mapping[str, Any]) -> SectionLabeller:
        return cls(
            labels=tuple(str(label) for label in plain["labels"]),
            classes=tuple(int(i) for i in plain["classes"]),
            coef=np.asarray(plain["coef"], dtype=np.float64),
            intercept=np.asarray(plain["intercept"], dtype=np.float64),
            first=np.asarray(plain["first"], dtype=np.float64),
            moves=np.asarray(plain["moves"], dtype=np.float64),
            tracks=int(plain.get("tracks", 0)),
            forms=tuple(tuple(int(i) for i in form) for form in plain.get("forms", ())),
            form_priors=tuple(float(p) for p in plain.get("form_priors", ())),
            hand_weight=float(plain.get("hand_weight", 0.0)),
        )


def checkpoint_labeller(checkpoint: Mapping[str, Any] | None) -> SectionLabeller | None:
    """The labeller a checkpoint carries; None when it has none."""
    plain = (checkpoint or {}).get(CHECKPOINT_KEY)
    return SectionLabeller.from_plain(plain) if isinstance(plain, Mapping) else None
