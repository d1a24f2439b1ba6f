"""Mixed precision against full precision: the reference recipe trained twice on one GPU.

Same data, seed and recipe; the only change is ``TrainingConfig.mixed_precision`` (bf16
autocast on CUDA). Prints wall time per run, the best validation loss and the held-out scores,
with the ratios mixed / full. Needs a CUDA device; on a CPU it says so and exits.

    .venv/bin/python bench/train_precision.py --out /tmp/precision [--tracks 128]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from recipe_steps import evaluate_folder, synthesize_once, warm_feature_cache  # noqa: E402

from edm.training.recipe import REFERENCE  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("/tmp/edm-precision"))
    parser.add_argument("--tracks", type=int, default=REFERENCE.train_tracks)
    parser.add_argument("--epochs", type=int, default=REFERENCE.epochs)
    parser.add_argument("--device", default="cuda", help="cuda; cpu only for a smoke run")
    args = parser.parse_args()
    import torch

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device: mixed precision is a GPU measurement")
        return 0
    sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
    from edm.training.pipeline import train_from_directory

    recipe = replace(REFERENCE, train_tracks=args.tracks, epochs=args.epochs)
    train = synthesize_once(args.out / "train", recipe, n_tracks=args.tracks, seed=0)
    test = synthesize_once(args.out / "test", recipe, n_tracks=recipe.test_tracks, seed=1)
    warm_feature_cache([train, test], workers=8)
    rows = {}
    for name, mixed in (("full (fp32)", False), ("mixed (bf16)", True)):
        config = recipe.training_config(
            args.out / "outputs", name.split()[0], device=args.device, mixed_precision=mixed
        )
        sync()
        started = time.perf_counter()
        job = train_from_directory(
            train,
            config,
            model_options=dict(recipe.model_options),
            crops_per_track=recipe.crops_per_track,
        )
        sync()
        seconds = time.perf_counter() - started
        scores = evaluate_folder(test, job.result.best_checkpoint, device=args.device)
        rows[name] = {
            "seconds": round(seconds, 1),
            "best_val_loss": round(job.result.best_val_loss, 4),
            **{k: round(v, 3) for k, v in scores.items()},
        }
        print(name, json.dumps(rows[name]), flush=True)
    full, mixed = rows["full (fp32)"], rows["mixed (bf16)"]
    print(f"training time mixed / full: {mixed['seconds'] / full['seconds']:.2f}x")
    print(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
