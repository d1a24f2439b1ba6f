"""How much of the label error on music made another way is the other generator's conventions.

Labels only: every labeller here is given the annotated section boundaries of each track and
scored by frame label accuracy (``edm.evaluation.metrics.frame_scores``), so boundary errors
play no part. The labellers, on the same cached activations:

- ``shipped``: the decoder's label step (``edm.decoding.decode.describe_sections``, hand-set
  form and energy priors over the network's label probabilities);
- a section model fitted on labelled tracks: a logistic regression over track-relative
  section descriptors (loudness and band levels ranked within the track, their change from
  the section before and to the one after, place in the track, length), optionally with the
  network's mean label log-probabilities, then a Viterbi pass with the label transitions and
  first labels counted in the same tracks. Fitted on ``--fit-own`` (the training generator's
  tracks: what a learned section model may see) and on ``--fit-other`` (another seed of the
  evaluation generator).

The ``--fit-other`` rows are a diagnostic ceiling, never a model to ship: the evaluation
generator must not be trained on. When they score far above the rest on the evaluation
generator's tracks, its sounds are not what keeps labels down, since the same descriptors hold
them; what is missing is its conventions (what a buildup or a breakbuild sounds like there,
which forms it uses), which only its own annotations teach.

Needs scikit-learn (installed with the ``bench`` extra, through librosa).

    python bench/label_conventions.py --model best.pt --fit-own DIR --fit-other DIR \\
        --score DIR [--score DIR ...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.section_ablation import load_set
from edm.decoding.activations import FrameActivations
from edm.decoding.decode import describe_sections, heard_levels
from edm.decoding.labels import LabelPriors, best_path
from edm.decoding.learned_labels import section_descriptors, section_labels
from edm.decoding.structure import Section, TrackStructure
from edm.evaluation.metrics import frame_scores
from edm.vocabulary import LABELS, UNLABELED

SECTION_LABELS = tuple(label for i, label in enumerate(LABELS) if i != UNLABELED)
_FLOOR = 1e-3


@dataclass(frozen=True)
class LabelledTrack:
    annotation: Any
    activations: FrameActivations
    spans: list[tuple[int, int]]  # annotated sections, in frames
    labels: list[int]  # index into SECTION_LABELS per section


def load_tracks(model: Path, folder: Path, cache: Path | None) -> list[LabelledTrack]:
    tracks = []
    for annotation, activations in load_set(model, folder, cache):
        fps = activations.frame_rate
        starts = [round(entry.time * fps) for entry in annotation.structure]
        ends = [*starts[1:], activations.n_frames]
        labels = [SECTION_LABELS.index(str(entry.label)) for entry in annotation.structure]
        spans = list(zip(starts, ends, strict=True))
        tracks.append(LabelledTrack(annotation, activations, spans, labels))
    return tracks


def descriptors(track: LabelledTrack, with_network: bool) -> np.ndarray:
    """One row per section (``edm.decoding.learned_labels.section_descriptors``: what a
    fine-tune's labeller reads), without the network's columns unless ``with_network``."""
    activations = track.activations
    rows = section_descriptors(activations, track.spans, heard_levels(activations))
    return rows if with_network else rows[:, : -len(section_labels(activations))]


class SectionModel:
    """Logistic regression per section, then the best label sequence under the transitions
    counted in the tracks it was fitted on."""

    def __init__(self, tracks: list[LabelledTrack], with_network: bool) -> None:
        from sklearn.linear_model import LogisticRegression

        self.with_network = with_network
        x = np.vstack([descriptors(t, with_network) for t in tracks])
        y = np.concatenate([t.labels for t in tracks])
        self.classifier = LogisticRegression(C=1.0, max_iter=5000).fit(x, y)
        n = len(SECTION_LABELS)
        first, moves = np.full(n, 0.5), np.full((n, n), 0.5)  # add-half smoothing
        for track in tracks:
            first[track.labels[0]] += 1
            for a, b in zip(track.labels[:-1], track.labels[1:], strict=True):
                moves[a, b] += 1
        self.first = np.log(first / first.sum())
        self.moves = np.log(moves / moves.sum(axis=1, keepdims=True))

    def label(self, track: LabelledTrack, with_transitions: bool) -> list[int]:
        scores = np.full((len(track.spans), len(SECTION_LABELS)), np.log(_FLOOR))
        probabilities = self.classifier.predict_log_proba(descriptors(track, self.with_network))
        scores[:, self.classifier.classes_] = probabilities
        if not with_transitions:
            return [int(i) for i in scores.argmax(axis=1)]
        return best_path(self.first, self.moves, scores)


def accuracy(tracks: list[LabelledTrack], labeller) -> float:
    scores = []
    for track in tracks:
        activations = track.activations
        fps = activations.frame_rate
        sections = [
            Section(a / fps, b / fps, SECTION_LABELS[i], 1.0, (0.0, 0.0, 0.0))
            for (a, b), i in zip(track.spans, labeller(track), strict=True)
        ]
        structure = TrackStructure(
            bpm=None, beats=(), downbeats=(), sections=sections, duration=activations.duration
        )
        scores.append(frame_scores(track.annotation, structure)[0])
    return float(np.nanmean(scores))


def shipped(track: LabelledTrack) -> list[int]:
    # Outros in a row are made one after labelling; kept apart here, one label per span.
    priors = replace(LabelPriors(), one_outro=False)
    sections = describe_sections(track.activations, [a for a, _ in track.spans], priors)
    return [SECTION_LABELS.index(section.label) for section in sections]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="The checkpoint (best.pt).")
    parser.add_argument("--fit-own", type=Path, required=True, help="Training-generator tracks.")
    parser.add_argument(
        "--fit-other",
        type=Path,
        required=True,
        help="Evaluation-generator tracks of another seed than any --score set (diagnostic only).",
    )
    parser.add_argument("--score", type=Path, action="append", required=True)
    parser.add_argument("--cache", type=Path, default=None, help="Activation cache folder.")
    args = parser.parse_args(argv)

    own = load_tracks(args.model, args.fit_own, args.cache)
    other = load_tracks(args.model, args.fit_other, args.cache)
    scored = {folder: load_tracks(args.model, folder, args.cache) for folder in args.score}
    fitted = {
        "fitted on the training generator, descriptors": SectionModel(own, False),
        "fitted on another seed of the evaluation generator, descriptors": SectionModel(
            other, False
        ),
        "... the same, + the network's label probabilities": SectionModel(other, True),
    }
    header = [str(folder) for folder in args.score]
    print(
        "label accuracy with the annotated boundaries; each cell: sections alone / with "
        "transitions (the shipped decoder: its own)"
    )
    print("| labeller | " + " | ".join(header) + " |")
    print("|---|" + "---|" * len(header))
    print(
        "| shipped decoder | "
        + " | ".join(f"{accuracy(t, shipped):.3f}" for t in scored.values())
        + " |"
    )
    for name, model in fitted.items():
        cells = [
            f"{accuracy(t, partial(model.label, with_transitions=False)):.3f} / "
            f"{accuracy(t, partial(model.label, with_transitions=True)):.3f}"
            for t in scored.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
