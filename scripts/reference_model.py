"""Train the reference model: what ``make reference-model`` runs.

Into one folder (``--dir``, default ``$EDM_REF_DIR`` or ``./reference``):

    data/train, data/test    synthesized from every sound and arrangement family (two seeds)
    outputs/<run>/best.pt    the trained model (the recipe in edm.training.recipe.REFERENCE)
    mlruns/, mlartifacts/    its local MLflow store: the run, the registered version and its
                             evaluation (``edm evaluate --log`` on data/test)

Then, for example::

    edm --tracking-uri reference/mlruns models list
    edm --tracking-uri reference/mlruns models promote 1 Production

``--quick`` trains a tiny model on a few short tracks (a smoke test, not a reference).
Data already synthesized with the same settings is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_steps import FIGURES, format_table, synthesize_once, train_recipe

from edm.training.recipe import QUICK, REFERENCE

ENV_REF_DIR = "EDM_REF_DIR"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir", type=Path, default=Path(os.environ.get(ENV_REF_DIR) or "reference")
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N.")
    parser.add_argument("--quick", action="store_true", help="Tiny data and model: smoke test.")
    parser.add_argument("--threads", type=int, default=2, help="Torch threads.")
    args = parser.parse_args(argv)

    import torch

    from edm.registry import ModelRegistry
    from edm.settings import mlflow_environment_defaults

    torch.set_num_threads(args.threads)
    for key, value in mlflow_environment_defaults().items():  # an entry point may do this
        os.environ.setdefault(key, value)
    recipe = QUICK if args.quick else REFERENCE
    root = args.dir.resolve()
    store = root / "mlruns"
    timings: dict[str, float] = {}

    started = time.perf_counter()
    train = synthesize_once(
        root / "data" / "train", recipe, n_tracks=recipe.train_tracks, seed=recipe.train_seed
    )
    test = synthesize_once(
        root / "data" / "test", recipe, n_tracks=recipe.test_tracks, seed=recipe.test_seed
    )
    timings["synthesis_s"] = time.perf_counter() - started
    print(f"data: {train}, {test} ({timings['synthesis_s']:.0f} s)", flush=True)

    started = time.perf_counter()
    registry = ModelRegistry(tracking_uri=str(store))
    result = train_recipe(
        recipe,
        train,
        root / "outputs",
        "reference-quick" if args.quick else "reference",
        device=args.device,
        registry=registry,
        description="reference",
    )
    timings["training_s"] = time.perf_counter() - started
    checkpoint, version = result.best_checkpoint, result.model_version
    print(f"trained: {checkpoint}, version {version} ({timings['training_s']:.0f} s)", flush=True)

    started = time.perf_counter()
    report = root / "evaluation.json"
    edm = Path(sys.executable).with_name("edm")
    command = [str(edm) if edm.exists() else "edm", "--tracking-uri", str(store), "evaluate"]
    command += [str(test), "--model", str(version), "--log", "--json", "--device", args.device]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout + completed.stderr)
        return completed.returncode
    report.write_text(completed.stdout)
    timings["evaluation_s"] = time.perf_counter() - started
    scores = json.loads(completed.stdout)["aggregate"]
    print(format_table({"own set (data/test)": scores}))
    summary = {
        "checkpoint": str(checkpoint),
        "version": version,
        "store": str(store),
        "recipe": recipe.to_dict(),
        "own_set": {k: scores[k] for k in FIGURES if k in scores},
        **{k: round(v, 1) for k, v in timings.items()},
    }
    (root / "reference.json").write_text(json.dumps(summary, indent=2))
    total = sum(timings.values())
    print(f"reference model ready in {total:.0f} s: {root / 'reference.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
