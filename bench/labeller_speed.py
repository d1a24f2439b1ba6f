"""What a learnt section labeller costs at decode time, beside the hand priors in the same run.

A fine-tune's labeller (``edm.training.section_labels``) is fitted on ``--fit`` folders with a
checkpoint's activations, then every ``--score`` track is decoded (the whole
``edm.decoding.decode.decode_structure``: beats, bars, boundaries, labels) with:

- ``hand priors``: no labeller, the baseline;
- ``chain``: the labeller without its forms (label-to-label transitions only);
- ``chain + forms``: the labeller as fitted;
- ``chain + N forms``: its forms repeated with small changes up to ``--many-forms`` distinct
  ones, a catalogue whose tracks follow many forms.

Activations are computed once (``--cache`` keeps them), so only decoding is timed.

    python bench/labeller_speed.py --model best.pt --fit DIR [--fit DIR] --score DIR \\
        [--cache DIR] [--repeat 3] [--many-forms 100]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.decode_quality import cached_activations, lazy_analyzer
from edm.data.tracks import load_dataset
from edm.decoding.decode import decode_structure
from edm.decoding.learned_labels import SectionLabeller
from edm.training.section_labels import decide, fit_labeller, labelled_track


def _many_forms(labeller: SectionLabeller, count: int) -> SectionLabeller:
    """The fitted forms, then variants of them (one label changed) until ``count``."""
    forms = list(labeller.forms)
    rng = np.random.default_rng(0)
    while len(forms) < count:
        form = list(forms[int(rng.integers(len(labeller.forms)))])
        form[int(rng.integers(len(form)))] = int(rng.integers(len(labeller.labels)))
        if tuple(form) not in forms:
            forms.append(tuple(form))
    priors = tuple(float(np.log(1 / len(forms))) for _ in forms)
    return replace(labeller, forms=tuple(forms), form_priors=priors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--fit", type=Path, action="append", required=True)
    parser.add_argument("--score", type=Path, required=True)
    parser.add_argument("--cache", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--many-forms", type=int, default=100)
    args = parser.parse_args()
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
    analyzer = lazy_analyzer(args.model)

    def activations(folder: Path) -> list:
        tracks = load_dataset(folder).tracks
        return [
            (t, cached_activations(args.model, t.audio_path, args.cache, analyzer)) for t in tracks
        ]

    fitted = []
    for folder in args.fit:
        pairs = activations(folder)
        for track, acts in pairs:
            labelled = labelled_track(track, acts, str(folder), 1.0 / len(pairs))
            if labelled is not None:
                fitted.append(labelled)
    outcome = decide(fitted)
    labeller = outcome.labeller or fit_labeller(fitted)
    scored = [acts for _, acts in activations(args.score)]
    variants: dict[str, SectionLabeller | None] = {
        "hand priors": None,
        "chain": replace(labeller, forms=(), form_priors=()),
        f"chain + {len(labeller.forms)} forms": labeller,
        f"chain + {args.many_forms} forms": _many_forms(labeller, args.many_forms),
    }
    print(f"labeller fitted on {len(fitted)} tracks ({outcome.reason}); {len(scored)} scored")
    baseline = None
    print(f"| labels decided by | ms a track (best of {args.repeat}) | ratio to the hand priors |")
    print("|---|---|---|")
    for name, variant in variants.items():
        best = np.inf
        for _ in range(args.repeat):
            started = time.perf_counter()
            for acts in scored:
                decode_structure(acts, None, variant)
            best = min(best, (time.perf_counter() - started) / len(scored))
        baseline = baseline or best
        print(f"| {name} | {best * 1000:.1f} | {best / baseline:.2f} |")


if __name__ == "__main__":
    main()
