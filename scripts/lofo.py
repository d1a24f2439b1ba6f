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

Writes OUT/folds/<fold>/result.json per fold and OUT/lofo.json with the table and the mean.
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
        _run_fold(args.run_fold, recipe, out, args)
        return 0

    started = time.perf_counter()
    pools = _pools(recipe, out, folds)
    fixtures = write_fixtures(out / "fixtures") if args.fixtures else None
    warm_feature_cache([pools["train"]], os.cpu_count() or 1)  # what the folds train on
    print(f"data ready in {time.perf_counter() - started:.0f} s: {out / 'data'}", flush=True)
    results = _run_folds(folds, args, out)
    summary = {
        "recipe": recipe.to_dict(),
        "folds": results,
        "mean_held_out": _mean([r["held_out"] for r in results.values()]),
        "mean_in_distribution": _mean(
            [r["in_distribution"] for r in results.values() if r["in_distribution"]]
        ),
        "pools": {k: str(v) for k, v in pools.items()},
        "fixtures_dir": str(fixtures) if fixtures else None,
        "seconds": round(time.perf_counter() - started, 1),
    }
    rows = {name: r["held_out"] for name, r in results.items()}
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
    parser.add_argument("--run-fold", help=argparse.SUPPRESS)  # one fold, in a child process
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


def _run_folds(folds: list[str], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Each fold in its own process (torch threads split between them), at most --jobs at once."""
    jobs = max(1, args.jobs)
    threads = args.threads or max(1, (os.cpu_count() or 2) // jobs)
    pending = list(folds)
    running: dict[str, subprocess.Popen[bytes]] = {}
    results: dict[str, Any] = {}
    while pending or running:
        while pending and len(running) < jobs:
            fold = pending.pop(0)
            fold_dir = out / "folds" / fold.replace(":", "-")
            fold_dir.mkdir(parents=True, exist_ok=True)
            command = [sys.executable, __file__, *_child_args(args), "--run-fold", fold]
            env = {**os.environ, "OMP_NUM_THREADS": str(threads), "EDM_LOFO_THREADS": str(threads)}
            with open(fold_dir / "log.txt", "wb") as log:
                running[fold] = subprocess.Popen(command, stdout=log, stderr=log, env=env)
            print(f"fold {fold}: started ({threads} threads)", flush=True)
        time.sleep(0.5)
        for fold, process in list(running.items()):
            if process.poll() is None:
                continue
            del running[fold]
            fold_dir = out / "folds" / fold.replace(":", "-")
            if process.returncode != 0:
                tail = (fold_dir / "log.txt").read_text(errors="replace")[-2000:]
                raise SystemExit(f"fold {fold} failed ({process.returncode}):\n{tail}")
            results[fold] = json.loads((fold_dir / "result.json").read_text())
            held = results[fold]["held_out"]
            print(
                f"fold {fold}: done in {results[fold]['seconds']:.0f} s: "
                + ", ".join(f"{k} {held[k]:.3f}" for k in FIGURES),
                flush=True,
            )
    return {fold: results[fold] for fold in folds}


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
    fold_dir = out / "folds" / fold.replace(":", "-")
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
