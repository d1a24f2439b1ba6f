"""Section labels, step by step: each change to the label decoder's priors on the same
activations, so that a table shows what each step did on each evaluation set.

The network runs once per track (activations cached with ``--cache``); every step decodes the
same activations with other ``LabelPriors`` and is scored with ``edm.evaluation.metrics``.
Steps are cumulative: each row keeps the rows above it. Sets:

- each ``DATA_DIR`` with ``--model`` (the reference model: its own test set, the
  evaluation-only tracks of ``edm data other-music``);
- ``--lofo OUT``: every fold of a ``scripts/lofo.py`` run, its own checkpoint on its held-out
  family, the mean over folds (as ``lofo.json`` reports it).

Only the label decoder changes here: beats, downbeats and tempo stay the same (shown for the
first and last step), and boundaries change only where outro sections in a row are made one.

    python bench/section_ablation.py --model best.pt DATA_DIR [DATA_DIR ...] [--lofo lofo]
                                     [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.decode_quality import cached_activations, lazy_analyzer
from edm.data.tracks import load_dataset
from edm.decoding.decode import DecodeParams, decode_structure
from edm.decoding.labels import LabelPriors
from edm.evaluation.metrics import METRIC_NAMES, aggregate, score_track

# The decoder as it was (edm 810cefb), then one change per step.
BEFORE = LabelPriors(
    model=0.4,
    grammar=0.5,
    outro_before_last=2.0,
    one_outro=False,
    breakdown_low=1.0,
    buildup_high=0.0,
)
STEPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("decoder before (810cefb)", {}),
    ("+ hats and snares (high band) mark a buildup", {"buildup_high": 1.0}),
    (
        "+ the form counts more than the network (0.75 and 0.3), bass less (0.5)",
        {"model": 0.3, "grammar": 0.75, "breakdown_low": 0.5},
    ),
    ("+ an outro may span sections, made one", {"outro_before_last": 0.0, "one_outro": True}),
)
SHOWN = ("beat_f", "downbeat_f", "bpm_accuracy")
_SECTION_FIGURES = ("boundary_f_0.5", "boundary_f_3", "label_accuracy")


def step_priors() -> list[tuple[str, LabelPriors]]:
    priors, steps = BEFORE, []
    for name, change in STEPS:
        priors = replace(priors, **change)
        steps.append((name, priors))
    return steps


def score_set(items: list[tuple[Any, Any]], priors: LabelPriors) -> dict[str, float]:
    params = DecodeParams(labels=priors)
    rows = []
    for annotation, activations in items:
        scores = score_track(annotation, decode_structure(activations, params))
        rows.append({k: scores[k] for k in METRIC_NAMES})
    return aggregate(rows)


def load_set(checkpoint: Path, data_dir: Path, cache: Path | None) -> list[tuple[Any, Any]]:
    analyzer = lazy_analyzer(checkpoint)
    return [
        (track.annotation, cached_activations(checkpoint, track.audio_path, cache, analyzer))
        for track in load_dataset(data_dir).tracks
    ]


def lofo_folds(lofo: Path) -> list[tuple[str, Path, Path]]:
    folds = []
    for result in sorted(lofo.glob("folds/*/result.json")):
        data = json.loads(result.read_text())
        folds.append((data["fold"], Path(data["checkpoint"]), result.parent / "test"))
    return folds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", type=Path, nargs="*")
    parser.add_argument("--model", type=Path)
    parser.add_argument("--lofo", type=Path)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    steps = step_priors()
    columns: dict[str, list[dict[str, float]]] = {}
    for data_dir in args.data_dirs:
        items = load_set(args.model, data_dir, args.cache)
        columns[f"{data_dir.name} ({len(items)})"] = [score_set(items, p) for _, p in steps]
    if args.lofo:
        folds = lofo_folds(args.lofo)
        per_fold = [
            [score_set(load_set(ckpt, test, args.cache), p) for _, p in steps]
            for _, ckpt, test in folds
        ]
        print("LOFO, each fold's held-out family, last step:")
        for (fold, _, _), rows in zip(folds, per_fold, strict=True):
            shown = " ".join(f"{rows[-1][k]:.3f}" for k in (*SHOWN, *_SECTION_FIGURES))
            print(f"  {fold}: {shown}")
        columns[f"LOFO held out ({len(folds)} folds)"] = [
            {k: sum(f[i][k] for f in per_fold) / len(per_fold) for k in per_fold[0][i]}
            for i in range(len(steps))
        ]
    print("label accuracy; boundary F at 0.5 s / 3 s")
    print("| step | " + " | ".join(columns) + " |")
    print("|---|" + "---|" * len(columns))
    for i, (name, _) in enumerate(steps):
        cells = " | ".join(
            f"{rows[i]['label_accuracy']:.3f}; "
            f"{rows[i]['boundary_f_0.5']:.3f} / {rows[i]['boundary_f_3']:.3f}"
            for rows in columns.values()
        )
        print(f"| {name} | {cells} |")
    print("\nbeats, downbeats and tempo (" + ", ".join(SHOWN) + "), first step and last")
    for column, rows in columns.items():
        first, last = (" ".join(f"{r[k]:.3f}" for k in SHOWN) for r in (rows[0], rows[-1]))
        print(f"  {column}: {first}  ->  {last}")


if __name__ == "__main__":
    main()
