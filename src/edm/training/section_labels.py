"""A fine-tune's section labeller, fitted on its training tracks and kept only when it helps.

After the network is trained, its best checkpoint analyses the training folders' tracks (at
most :data:`MAX_TRACKS_PER_FOLDER` of each, evenly spread; never a held-out track), and a
:class:`~edm.decoding.learned_labels.SectionLabeller` is fitted on the sections the network
decodes there, each with its annotated label, each folder weighing what its ``--mix`` weight
says. Whether it replaces the hand priors is decided by cross-validation over tracks
(:data:`FOLDS` folds, scored on the annotated labels of every frame):
it is kept when, weighted by the folders' weights, its label accuracy beats the hand priors'
by :data:`MIN_GAIN` and no folder loses more than :data:`MAX_FOLDER_LOSS` (so the synthetic
data a catalogue is mixed with keeps its labels). Both figures go on the run either way.

On by default for a fine-tune (``edm train --init-from``; ``--no-learn-labels`` leaves it
out, ``--learn-labels`` asks for it on a training from scratch). The cross-validation reads
the network's label probabilities on tracks the network was just trained on, surer there
than on music it never heard; the 0.01 a folder may lose is the margin for that.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from edm.decoding.activations import FrameActivations
from edm.decoding.decode import DecodeParams, decode_structure, hand_evidence, heard_levels
from edm.decoding.labels import LabelPriors, grammar_path
from edm.decoding.learned_labels import (
    CHECKPOINT_KEY,
    SectionLabeller,
    section_descriptors,
    section_labels,
)
from edm.decoding.structure import Section
from edm.errors import EdmError

if TYPE_CHECKING:
    from edm.data.tracks import Track
    from edm.registry.tracked_run import TrackedRun

log = logging.getLogger(__name__)

MAX_TRACKS_PER_FOLDER = 48  # each is analysed in full: about 1 s of CPU per minute of audio
FOLDS = 8
MIN_GAIN = 0.005
MAX_FOLDER_LOSS = 0.01
_REGULARISATION = 1.0  # scikit-learn's C: the descriptors are few and of like scale
# How much of the hand priors' evidence the regression's is added to: on the flywheel's
# development tracks (not its report set) 1 kept the own test set within 0.01 of the hand
# priors where the regression alone lost 0.03.
HAND_WEIGHT = 1.0
# Before outros in a row are made one: the spans the labeller is given at inference.
_UNMERGED = DecodeParams(labels=LabelPriors(one_outro=False))


@dataclass(frozen=True)
class FolderTracks:
    """One training folder's tracks and its ``--mix`` weight."""

    folder: str
    weight: float
    tracks: Sequence[Track]


@dataclass(frozen=True, eq=False)
class LabelledTrack:
    folder: str
    weight: float  # the folder's weight shared among its fitted tracks
    activations: FrameActivations
    levels: np.ndarray
    spans: list[tuple[int, int]]  # the decoded sections, in frames
    labels: list[int]  # the annotated label of most of each span's frames (an index)
    truth: np.ndarray  # per frame, the annotated label's index (-1: outside the sections)
    form: tuple[int, ...]  # the annotated sections' labels, in order
    hand: np.ndarray  # per span, the hand priors' evidence (edm.decoding.labels.section_scores)


@dataclass
class LabellerOutcome:
    """The labeller (None: the hand priors stay) and the cross-validated label accuracy of
    both, per folder."""

    labeller: SectionLabeller | None
    tracks: int
    hand: dict[str, float] = field(default_factory=dict)
    learned: dict[str, float] = field(default_factory=dict)
    reason: str = ""

    def metrics(self) -> dict[str, float]:
        rows = {"labeller_tracks": float(self.tracks), "labeller_kept": float(bool(self.labeller))}
        for i, folder in enumerate(self.hand):
            rows[f"labeller_cv_hand_{i}"] = self.hand[folder]
            rows[f"labeller_cv_learned_{i}"] = self.learned[folder]
        return rows


def learn_section_labels(checkpoint: Path, folders: Sequence[FolderTracks]) -> LabellerOutcome:
    """Fit, cross-validate and decide; a labeller that cannot be fitted keeps the hand priors."""
    from edm.inference.pipeline import File2Structure

    # A fresh checkpoint has no version settings: today's defaults, outros left apart.
    analyzer = File2Structure.from_checkpoint(checkpoint, decode_params=_UNMERGED)
    tracks: list[LabelledTrack] = []
    for group in folders:
        chosen = _spread(list(group.tracks), MAX_TRACKS_PER_FOLDER)
        for track in chosen:
            try:
                analysis = analyzer.analyze(track.audio_path)
            except EdmError as exc:
                log.warning("section labeller: %s left out: %s", track.audio_path, exc)
                continue
            weight = group.weight / len(chosen)
            labelled = labelled_track(
                track, analysis.activations, group.folder, weight, analysis.structure.sections
            )
            if labelled is not None:
                tracks.append(labelled)
    return decide(tracks)


def decide(tracks: Sequence[LabelledTrack]) -> LabellerOutcome:
    """Cross-validate on ``tracks``, then fit on all of them if the learnt labels win."""
    if len(tracks) < 4:
        return LabellerOutcome(None, len(tracks), reason="fewer than 4 labelled tracks")
    hand, learned = cross_validate(tracks)
    weights = {t.folder: 0.0 for t in tracks}
    for track in tracks:
        weights[track.folder] += track.weight
    total = sum(weights.values())
    gain = sum(weights[f] * (learned[f] - hand[f]) for f in weights) / total
    worst = min(learned[f] - hand[f] for f in weights)
    outcome = LabellerOutcome(None, len(tracks), hand, learned)
    if gain < MIN_GAIN:
        outcome.reason = f"learnt labels gain {gain:+.3f} over the hand priors: kept the priors"
    elif worst < -MAX_FOLDER_LOSS:
        outcome.reason = f"a folder's labels would lose {-worst:.3f}: kept the hand priors"
    else:
        outcome.labeller = fit_labeller(tracks)
        outcome.reason = f"learnt labels gain {gain:+.3f} over the hand priors: kept"
    return outcome


def labelled_track(
    track: Track,
    activations: FrameActivations,
    folder: str,
    weight: float,
    decoded: Sequence[Section] | None = None,
) -> LabelledTrack | None:
    """The sections the decoder finds in the track (as it will at inference: boundaries are
    never perfect, and a labeller fitted on the annotated ones learns too much from their
    lengths and places), each with the annotated label of most of its frames. None when an
    annotated label is outside the network's vocabulary or no section is left. ``decoded``:
    the sections already decoded with ``_UNMERGED`` (decoded here when not given)."""
    vocabulary = section_labels(activations)
    fps, n = activations.frame_rate, activations.n_frames
    truth = np.full(n, -1)
    entries = list(track.annotation.structure)
    starts = [min(round(entry.time * fps), n) for entry in entries]
    for a, b, entry in zip(starts, [*starts[1:], n], entries, strict=True):
        if str(entry.label) not in vocabulary:
            return None
        truth[a:b] = vocabulary.index(str(entry.label))
    if decoded is None:
        decoded = decode_structure(activations, _UNMERGED).sections
    spans = [(round(s.start * fps), min(round(s.end * fps), n)) for s in decoded]
    spans = [(a, b) for a, b in spans if b > a and (truth[a:b] >= 0).any()]
    if not spans:
        return None
    labels = [int(np.bincount(truth[a:b][truth[a:b] >= 0]).argmax()) for a, b in spans]
    levels = heard_levels(activations)
    form = tuple(vocabulary.index(str(entry.label)) for entry in entries)
    hand = hand_evidence(activations, spans, levels, _UNMERGED.labels)
    return LabelledTrack(folder, weight, activations, levels, spans, labels, truth, form, hand)


def fit_labeller(tracks: Sequence[LabelledTrack]) -> SectionLabeller:
    from sklearn.linear_model import LogisticRegression

    labels = section_labels(tracks[0].activations)
    x = np.vstack([section_descriptors(t.activations, t.spans, t.levels) for t in tracks])
    y = np.concatenate([t.labels for t in tracks])
    weight = np.concatenate([np.full(len(t.spans), t.weight) for t in tracks])
    weight *= len(weight) / weight.sum()
    n = len(labels)
    if len(set(y.tolist())) == 1:  # one label only: the regression has nothing to tell apart
        coef, intercept, classes = np.zeros((1, x.shape[1])), np.zeros(1), (int(y[0]),)
    else:
        model = LogisticRegression(C=_REGULARISATION, max_iter=5000)
        model.fit(x, y, sample_weight=weight)
        coef, intercept = model.coef_, model.intercept_
        classes = tuple(int(c) for c in model.classes_)
        if len(classes) == 2:  # scikit-learn keeps one row for two classes: make it two
            coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    first, moves = np.full(n, 0.5), np.full((n, n), 0.5)  # add-half smoothing
    forms: dict[tuple[int, ...], float] = {}
    for track in tracks:
        first[track.labels[0]] += track.weight
        for a, b in zip(track.labels[:-1], track.labels[1:], strict=True):
            moves[a, b] += track.weight
        forms[track.form] = forms.get(track.form, 0.0) + track.weight
    seen = sum(forms.values())
    return SectionLabeller(
        labels=labels,
        classes=classes,
        coef=np.asarray(coef, dtype=np.float64),
        intercept=np.asarray(intercept, dtype=np.float64),
        first=np.log(first / first.sum()),
        moves=np.log(moves / moves.sum(axis=1, keepdims=True)),
        tracks=len(tracks),
        forms=tuple(forms),
        form_priors=tuple(float(np.log(count / seen)) for count in forms.values()),
        hand_weight=HAND_WEIGHT,
    )


def cross_validate(tracks: Sequence[LabelledTrack]) -> tuple[dict[str, float], dict[str, float]]:
    """Per folder, the mean track label accuracy of the hand priors and of labellers fitted
    without the track (:data:`FOLDS` folds over the tracks, each folder spread over all)."""
    folds = min(FOLDS, len(tracks))
    fold_of = {id(t): i % folds for i, t in enumerate(_interleaved(tracks))}
    hand: dict[str, list[float]] = {}
    learned: dict[str, list[float]] = {}
    for k in range(folds):
        # decide() asks for 4 tracks or more, so every fold leaves some to fit on.
        labeller = fit_labeller([t for t in tracks if fold_of[id(t)] != k])
        for track in (t for t in tracks if fold_of[id(t)] == k):
            hand.setdefault(track.folder, []).append(_accuracy(track, _hand_labels(track)))
            guess = _learned_labels(track, labeller)
            learned.setdefault(track.folder, []).append(_accuracy(track, guess))
    return (
        {f: float(np.mean(v)) for f, v in hand.items()},
        {f: float(np.mean(v)) for f, v in learned.items()},
    )


def _hand_labels(track: LabelledTrack) -> list[int]:
    labels = track.activations.labels
    chosen = grammar_path(track.hand, labels, _UNMERGED.labels)
    vocabulary = section_labels(track.activations)
    return [vocabulary.index(labels[i]) for i in chosen]


def _learned_labels(track: LabelledTrack, labeller: SectionLabeller) -> list[int]:
    chosen = labeller.label(track.activations, track.spans, track.levels, track.hand)
    vocabulary = section_labels(track.activations)
    return [vocabulary.index(track.activations.labels[i]) for i in chosen]


def _accuracy(track: LabelledTrack, guess: list[int]) -> float:
    """Of the annotated frames, the share whose section got their label."""
    right = sum(
        int((track.truth[a:b] == g).sum()) for (a, b), g in zip(track.spans, guess, strict=True)
    )
    return right / max(int((track.truth >= 0).sum()), 1)


def _interleaved(tracks: Sequence[LabelledTrack]) -> list[LabelledTrack]:
    """Round-robin over the folders, so every fold holds some of each."""
    by_folder: dict[str, list[LabelledTrack]] = {}
    for track in tracks:
        by_folder.setdefault(track.folder, []).append(track)
    order, queues = [], list(by_folder.values())
    while any(queues):
        for queue in queues:
            if queue:
                order.append(queue.pop(0))
    return order


def _spread(items: list[Track], most: int) -> list[Track]:
    if len(items) <= most:
        return items
    step = len(items) / most
    return [items[int(i * step)] for i in range(most)]


LABELS_TAG = "edm.section_labels"  # "learnt from N tracks" or why the hand priors stay


class SectionLabellerStep:
    """The trainer's last step on the best checkpoint, before it is registered (or as the
    result, without a registry): ``Trainer(finish_checkpoint=...)``. Learn, decide, and store
    the labeller in the checkpoint (``edm.decoding.learned_labels.CHECKPOINT_KEY``) when it is
    kept. The cross-validated figures and the decision (``verdict``) go on the run, when there
    is one, either way."""

    def __init__(self, folders: Sequence[FolderTracks]) -> None:
        self.folders = list(folders)
        self.verdict: str | None = None

    def __call__(self, checkpoint: Path, run: TrackedRun | None) -> None:
        from edm.models.checkpoint import add_to_checkpoint

        outcome = learn_section_labels(checkpoint, self.folders)
        if outcome.labeller is not None:
            add_to_checkpoint(checkpoint, CHECKPOINT_KEY, outcome.labeller.to_plain())
            self.verdict = f"learnt from {outcome.tracks} tracks ({outcome.reason})"
        else:
            self.verdict = f"hand priors ({outcome.reason})"
        log.info("section labels: %s", self.verdict)
        if run is not None:
            run.log_metrics(outcome.metrics())
            run.set_tags({LABELS_TAG: self.verdict})
