"""Leave-one-family-out evaluation of the reference recipe.

For each family of the generator (each sound family, each arrangement family) a model is
trained with the reference recipe on tracks WITHOUT that family and scored with
``edm.evaluation.evaluate`` on tracks made ONLY of it: the figure says how the recipe does on
material it did not train on. Each fold also reports the in-distribution score (the held-out
tracks of the other families), the 12 click/drum fixtures of ``tests/inference`` and any
``--extra-test`` folder.

Data: one training pool (1.5x the recipe's tracks, all families, so that each fold keeps about
the recipe's count) and one test pool (the recipe's test tracks per family, another seed) are
synthesized once under OUT/data and reused; folds select their tracks by the YAML's
``metadata.sound_family`` / ``metadata.arrangement_family`` through symlinks.

    .venv/bin/python scripts/lofo.py --out lofo                       # all six folds, CPU
    .venv/bin/python scripts/lofo.py --out lofo --device cuda --jobs 6  # a GPU machine
    .venv/bin/python scripts/lofo.py --folds sound:sampled --quick     # smoke test
    .venv/bin/python scripts/lofo.py --out lofo --seeds 0,1 --reuse     # the spread, too

One training per fold cannot tell a change of code from the spread between trainings:
``--seeds`` trains each fold under several training seeds (the split, the initial weights, the
crop order; the data stay the same) and reports each seed's mean and the mean over seeds.

Writes OUT/folds/<fold>/result.json per fold (``<fold>-seed<N>`` for a seed other than the
recipe's) and OUT/lofo.json with the table and the mean.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from recipe_steps import (
    FIGURES,
    evaluate_fixtures,
    evaluate_folder,
    format_table,
    load_families,
    select_tracks,
    synthesize_once,
    train_recipe,
    warm_feature_cache,
    write_fixtures,
)

from edm.training.recipe import QUICK, REFERENCE, Recipe


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    recipe = _recipe(args)
    out = args.out.resolve()
    sound, arrangement = load_families()
    folds = _folds(args.folds, sound, arrangement)
    if args.run_fold:
        _run_fold(args.run_fold, recipe.with_changes(training_seed=args.seed), out, args)
        return 0
    seeds = args.seeds or [recipe.train_seed]

    started = time.perf_counter()
    pools = _pools(recipe, out, folds)
    fixtures = write_fixtures(out / "fixtures") if args.fixtures else None
    warm_feature_cache([pools["train"]], os.cpu_count() or 1)  # what the folds train on
    print(f"data ready in {time.perf_counter() - started:.0f} s: {out / 'data'}", flush=True)
    runs = _run_folds([(fold, seed) for seed in seeds for fold in folds], args, out, recipe)
    results = {fold: _mean_result([runs[(fold, seed)] for seed in seeds], fold) for fold in folds}
    summary = {
        "recipe": recipe.to_dict(),
        "seeds": seeds,
        "folds": results,
        "mean_held_out": _mean([r["held_out"] for r in results.values()]),
        "mean_in_distribution": _mean(
            [r["in_distribution"] for r in results.values() if r["in_distribution"]]
        ),
        "per_seed": {
            seed: _mean([runs[(fold, seed)]["held_out"] for fold in folds]) for seed in seeds
        },
        "pools": {k: str(v) for k, v in pools.items()},
        "fixtures_dir": str(fixtures) if fixtures else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    rows = {name: r["held_out"] for name, r in results.items()}
    if len(seeds) > 1:
        rows.update({f"mean (held out), seed {k}": v for k, v in summary["per_seed"].items()})
    rows["mean (held out)"] = summary["mean_held_out"]
    if summary["mean_in_distribution"]:
        rows["mean (in distribution)"] = summary["mean_in_distribution"]
    print("\nLeave-one-family-out: trained without the family, scored on it only")
    print(format_table(rows))
    for extra in ("fixtures", *(f"extra:{p.name}" for p in args.extra_test)):
        extra_rows = {n: r["other"][extra] for n, r in results.items() if extra in r["other"]}
        if extra_rows:
            print(f"\n{extra}")
            print(format_table(extra_rows))
    (out / "lofo.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwritten: {out / 'lofo.json'} ({summary['seconds']:.0f} s)")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("lofo"), help="Output folder.")
    parser.add_argument(
        "--folds",
        default="all",
        help="Comma-separated KIND:FAMILY (sound:sampled,arrangement:pickup) or family names; "
        "default all.",
    )
    parser.add_argument("--families", dest="folds", help="Same as --folds.")
    parser.add_argument("--jobs", type=int, default=1, help="Folds trained in parallel.")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N.")
    parser.add_argument("--threads", type=int, default=0, help="Torch threads per fold.")
    parser.add_argument(
        "--extra-test", type=Path, action="append", default=[], help="More annotated folders."
    )
    parser.add_argument("--no-fixtures", dest="fixtures", action="store_false")
    parser.add_argument("--quick", action="store_true", help="Tiny data and model: smoke test.")
    parser.add_argument("--epochs", type=int, help="Override the recipe's epochs.")
    parser.add_argument("--tracks", type=int, help="Override the recipe's training tracks.")
    parser.add_argument("--crop-seconds", type=float, help="Override the recipe's crop.")
    parser.add_argument("--crops-per-track", type=int, help="Override the recipe's crops.")
    parser.add_argument("--no-augment", dest="augment", action="store_false", default=None)
    parser.add_argument(
        "--seeds",
        type=_seed_list,
        help="Comma-separated training seeds, each fold trained under each (default: the "
        "recipe's); the table gives each fold's mean over them and each seed's mean.",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="Keep a fold's result.json from an earlier run with the same recipe and seed.",
    )
    parser.add_argument("--run-fold", help=argparse.SUPPRESS)  # one fold, in a child process
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)  # its training seed
    return parser


def _recipe(args: argparse.Namespace) -> Recipe:
    recipe = QUICK if args.quick else REFERENCE
    changes: dict[str, Any] = {}
    if args.epochs:
        changes["epochs"] = args.epochs
    if args.tracks:
        changes["train_tracks"] = args.tracks
    if args.crop_seconds:
        changes["crop_seconds"] = args.crop_seconds
    if args.crops_per_track:
        changes["crops_per_track"] = args.crops_per_track
    if args.augment is not None:
        changes["augment"] = args.augment
    return recipe.with_changes(**changes)


def _seed_list(text: str) -> list[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"give distinct seeds, e.g. 0,1: {text!r}")
    return seeds


def _fold_dir(out: Path, fold: str, seed: int | None, recipe: Recipe) -> Path:
    name = fold.replace(":", "-")
    if seed is not None and seed != recipe.train_seed:
        name += f"-seed{seed}"
    return out / "folds" / name


def _finished(fold_dir: Path, recipe: Recipe) -> dict[str, Any] | None:
    """An earlier run's result for this fold, when it was trained with this recipe and seed."""
    path = fold_dir / "result.json"
    if not path.is_file():
        return None
    result = json.loads(path.read_text())
    same = result.get("recipe") == json.loads(json.dumps(recipe.to_dict()))
    return result if same else None


def _mean_result(runs: list[dict[str, Any]], fold: str) -> dict[str, Any]:
    """One fold over its seeds: each figure's mean."""
    if len(runs) == 1:
        return runs[0]
    other_keys = set.intersection(*(set(r["other"]) for r in runs))
    return {
        "fold": fold,
        "n_train": runs[0]["n_train"],
        "held_out": _mean([r["held_out"] for r in runs]),
        "in_distribution": _mean([r["in_distribution"] for r in runs if r["in_distribution"]]),
        "other": {k: _mean([r["other"][k] for r in runs]) for k in sorted(other_keys)},
        "runs": runs,
        "seconds": sum(r["seconds"] for r in runs),
    }


def _folds(text: str, sound: tuple[str, ...], arrangement: tuple[str, ...]) -> list[str]:
    every = [f"sound:{f}" for f in sound] + [f"arrangement:{f}" for f in arrangement]
    if not text or text == "all":
        return every
    chosen = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        matches = [f for f in every if f == part or f.split(":")[1] == part]
        if not matches:
            raise SystemExit(f"--folds: unknown fold '{part}': known {', '.join(every)}")
        chosen += [m for m in matches if m not in chosen]
    return chosen


def _pools(recipe: Recipe, out: Path, folds: list[str]) -> dict[str, Path]:
    """The training pool (all families, 1.5x the recipe's tracks: a fold drops about a third),
    a test pool from the same distribution (another seed), and per fold a test set made of
    the held-out family only (so that it has exactly the recipe's count)."""
    data = out / "data"
    pools = {
        "train": synthesize_once(
            data / "train-pool",
            recipe,
            n_tracks=(recipe.train_tracks * 3 + 1) // 2,
            seed=recipe.train_seed,
        ),
        "test": synthesize_once(
            data / "test-pool", recipe, n_tracks=recipe.test_tracks, seed=recipe.test_seed
        ),
    }
    for index, fold in enumerate(folds):
        kind, family = fold.split(":")
        only = {kind: (family,)}
        pools[fold] = synthesize_once(
            data / f"test-{kind}-{family}",
            recipe,
            n_tracks=recipe.test_tracks,
            seed=recipe.test_seed + 100 + index,
            sound=only.get("sound"),
            arrangement=only.get("arrangement"),
        )
    return pools


Run = tuple[str, int]  # (fold, training seed)


def _run_folds(
    runs: list[Run], args: argparse.Namespace, out: Path, recipe: Recipe
) -> dict[Run, Any]:
    """Each run in its own process (torch threads split between them), at most --jobs at once."""
    jobs = max(1, args.jobs)
    threads = args.threads or max(1, (os.cpu_count() or 2) // jobs)
    pending = list(runs)
    running: dict[Run, subprocess.Popen[bytes]] = {}
    results: dict[Run, Any] = {}
    while pending or running:
        while pending and len(running) < jobs:
            fold, seed = run = pending.pop(0)
            fold_dir = _fold_dir(out, fold, seed, recipe)
            seeded = recipe.with_changes(training_seed=seed)
            if args.reuse and (done := _finished(fold_dir, seeded)) is not None:
                results[run] = done
                print(f"fold {fold}, seed {seed}: reused {fold_dir / 'result.json'}", flush=True)
                continue
            fold_dir.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, __file__, *_child_args(args)]
            command += ["--run-fold", fold, "--seed", str(seed)]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "EDM_LOFO_THREADS": str(threads)}
            with open(fold_dir / "log.txt", "wb") as log:
                running[run] = subprocess.Popen(command, stdout=log, stderr=log, env=env)
            print(f"fold {fold}, seed {seed}: started ({threads} threads)", flush=True)
        time.sleep(0.5)
        for run, process in list(running.items()):
            if process.poll() is None:
                continue
            del running[run]
            fold, seed = run
            fold_dir = _fold_dir(out, fold, seed, recipe)
            if process.returncode != 0:
                tail = (fold_dir / "log.txt").read_text(errors="replace")[-2000:]
                raise SystemExit(f"fold {fold} failed ({process.returncode}):\n{tail}")
            results[run] = json.loads((fold_dir / "result.json").read_text())
            held = results[run]["held_out"]
            print(
                f"fold {fold}, seed {seed}: done in {results[run]['seconds']:.0f} s: "
                + ", ".join(f"{k} {held[k]:.3f}" for k in FIGURES),
                flush=True,
            )
    return results


def _child_args(args: argparse.Namespace) -> list[str]:
    out = ["--out", str(args.out.resolve()), "--device", args.device]
    if args.quick:
        out.append("--quick")
    for flag, value in (("--epochs", args.epochs), ("--tracks", args.tracks)):
        if value:
            out += [flag, str(value)]
    if args.crop_seconds:
        out += ["--crop-seconds", str(args.crop_seconds)]
    if args.crops_per_track:
        out += ["--crops-per-track", str(args.crops_per_track)]
    if args.augment is False:
        out.append("--no-augment")
    if not args.fixtures:
        out.append("--no-fixtures")
    for extra in args.extra_test:
        out += ["--extra-test", str(extra.resolve())]
    return out


def _run_fold(fold: str, recipe: Recipe, out: Path, args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(int(os.environ.get("EDM_LOFO_THREADS", "2")))
    started = time.perf_counter()
    kind, family = fold.split(":")
    fold_dir = _fold_dir(out, fold, recipe.training_seed, recipe)
    key = f"{kind}_family"
    train = select_tracks(out / "data" / "train-pool", fold_dir / "train", key, family, False)
    held_out = select_tracks(
        out / "data" / f"test-{kind}-{family}", fold_dir / "test", key, family, True
    )
    in_dist = select_tracks(
        out / "data" / "test-pool", fold_dir / "in-dist", key, family, False, allow_empty=True
    )
    checkpoint = train_recipe(
        recipe, train, fold_dir / "outputs", "lofo", device=args.device
    ).best_checkpoint
    result: dict[str, Any] = {
        "fold": fold,
        "recipe": recipe.to_dict(),
        "n_train": len(list(train.glob("*.yaml"))),
        "held_out": evaluate_folder(held_out, checkpoint, args.device),
        "in_distribution": evaluate_folder(in_dist, checkpoint, args.device) if in_dist else {},
        "other": {},
        "checkpoint": str(checkpoint),
    }
    if args.fixtures:
        result["other"]["fixtures"] = evaluate_fixtures(out / "fixtures", checkpoint, args.device)
    for extra in args.extra_test:
        result["other"][f"extra:{extra.name}"] = evaluate_folder(extra, checkpoint, args.device)
    result["seconds"] = round(time.perf_counter() - started, 1)
    (fold_dir / "result.json").write_text(json.dumps(result, indent=2))


def _mean(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = rows[0].keys() if rows else ()
    return {k: sum(r[k] for r in rows) / len(rows) for k in keys}


if __name__ == "__main__":
    raise SystemExit(main())
