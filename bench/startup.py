"""How long ``edm`` takes as a whole process: ``--help``, ``--version`` and ``analyze --model 1``.

Each command runs as its own process (``python -m edm``, as the console script runs it), from
a temporary folder, for the working tree and for the code at ``--baseline`` (default 3569609,
before version 1's download was found again without MLflow; extracted with ``git archive``),
alternating, ``--runs`` times each; the figures are medians. ``analyze`` runs on a fresh local
store holding one registered version (a new, untrained cnn, registered with edm's own API)
and a 40 s synthetic WAV:

- cold: the first call in a folder, which downloads version 1 into ``downloads/``;
- cached: later calls in the same folder, where the download is already there.

Prints each figure with the ratio old/new, the time to the first byte of output, and whether
the targets are met: ``--help`` and ``--version`` <= 0.15 s, a cached ``analyze`` <= 1.5 s.

    python bench/startup.py [--runs 5] [--seconds 40] [--baseline 3569609 | --baseline none]
"""

from __future__ import annotations

import argparse
import os
import selectors
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS_S = {"--help": 0.15, "--version": 0.15, "analyze (cached)": 1.5}


def write_track(path: Path, seconds: float) -> None:
    """``seconds`` of synthetic music (the generator's track, played again until long enough)."""
    import numpy as np
    import soundfile as sf

    from edm.synth import SynthConfig, generate_track

    track = generate_track("bench", seed=0, index=0, config=SynthConfig())
    samples = track.samples.astype(np.float32) / 32768.0
    length = round(seconds * track.sample_rate)
    samples = np.tile(samples, int(np.ceil(length / samples.size)))[:length]
    sf.write(path, samples, track.sample_rate, subtype="PCM_16")


def register_model(store: Path, workdir: Path) -> None:
    """Version 1 of the default model name: a new cnn, as ``edm train`` would register it."""
    import torch

    from edm.audio.features import FeatureParams
    from edm.models import MultiTaskModel, save_checkpoint
    from edm.registry import ModelRegistry

    torch.manual_seed(0)  # start-up does not depend on the weights
    checkpoint = save_checkpoint(
        workdir / "best.pt", MultiTaskModel("cnn"), feature_params=FeatureParams().to_dict()
    )
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None)
    registry.log_model(checkpoint, "bench-startup", {"backbone": "cnn"}, {"best_val_loss": 1.0})


def timed_run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Seconds to the first byte of output (stdout or stderr) and to the process's exit."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    first: float | None = None
    errors = bytearray()
    with selectors.DefaultSelector() as selector:
        for stream in (process.stdout, process.stderr):
            assert stream is not None
            selector.register(stream, selectors.EVENT_READ)
        while selector.get_map():
            for key, _ in selector.select():
                data = os.read(key.fd, 65536)
                if not data:
                    selector.unregister(key.fileobj)
                    continue
                if first is None:
                    first = time.perf_counter() - start
                if key.fileobj is process.stderr:
                    errors += data
    process.wait()
    total = time.perf_counter() - start
    if process.returncode != 0:
        tail = errors.decode(errors="replace").strip().splitlines()[-5:]
        raise RuntimeError(f"{' '.join(command[2:])} failed ({process.returncode}): {tail}")
    return (first if first is not None else total), total


def environment(src: Path, cache_dir: Path) -> dict[str, str]:
    """This tree's code first on the path; no store or model chosen by the caller's shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "EDM_"))}
    return env | {"PYTHONPATH": str(src), "EDM_CACHE_DIR": str(cache_dir)}


def measure(
    trees: dict[str, Path], runs: int, store: Path, wav: Path, scratch: Path
) -> dict[str, dict[str, list[tuple[float, float]]]]:
    """Per tree and command, (first output, exit) seconds of every run, trees alternating."""
    python = [sys.executable, "-m", "edm"]
    analyze = ["--tracking-uri", str(store), "analyze", str(wav), "--model", "1"]
    envs = {
        name: environment(src, scratch / f"cache-{i}")
        for i, (name, src) in enumerate(trees.items())
    }
    cached_cwd = {}
    for i, name in enumerate(trees):
        # Warm-up: byte-compiles each tree (git archive ships no __pycache__), downloads once.
        cached_cwd[name] = scratch / f"cached-{i}"
        cached_cwd[name].mkdir()
        timed_run([*python, "--version"], cached_cwd[name], envs[name])
        timed_run([*python, *analyze], cached_cwd[name], envs[name])
    results: dict[str, dict[str, list[tuple[float, float]]]] = {name: {} for name in trees}
    for run in range(runs):
        for i, name in enumerate(trees):
            env, cwd = envs[name], cached_cwd[name]
            cold_cwd = scratch / f"cold-{i}-{run}"  # a new folder: nothing downloaded yet
            cold_cwd.mkdir()
            commands = {
                "--help": (["--help"], cwd),
                "--version": (["--version"], cwd),
                "analyze (cold)": (analyze, cold_cwd),
                "analyze (cached)": (analyze, cwd),
            }
            for label, (arguments, folder) in commands.items():
                timing = timed_run([*python, *arguments], folder, env)
                results[name].setdefault(label, []).append(timing)
    return results


def imports_mlflow(src: Path, store: Path, wav: Path, cwd: Path, cache_dir: Path) -> bool:
    """Whether a cached ``analyze`` of this tree imports MLflow (read from -X importtime)."""
    command = [sys.executable, "-X", "importtime", "-m", "edm", "--tracking-uri", str(store)]
    command += ["analyze", str(wav), "--model", "1"]
    done = subprocess.run(
        command, cwd=cwd, env=environment(src, cache_dir), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"analyze with -X importtime failed: {done.stderr[-500:]}")
    # Lines read "import time: SELF | CUMULATIVE | <indent>module".
    return any(line.split("|")[-1].strip() == "mlflow" for line in done.stderr.splitlines())


def report(results: dict[str, dict[str, list[tuple[float, float]]]], runs: int) -> None:
    names = list(results)
    print(f"whole-process wall time, median of {runs} runs each, trees alternating:")
    header = "".join(f"{name:>24}" for name in names)
    print(f"  {'command':<18}{header}{'old/new':>10}  first output (new)  target")
    for label in results[names[-1]]:
        totals = [statistics.median(t for _, t in results[name][label]) for name in names]
        first = statistics.median(f for f, _ in results[names[-1]][label])
        cells = "".join(f"{seconds * 1000:21.0f} ms" for seconds in totals)
        ratio = f"{totals[0] / totals[-1]:10.2f}" if len(totals) == 2 else f"{'-':>10}"
        target = TARGETS_S.get(label)
        verdict = "-"
        if target is not None:
            met = totals[-1] <= target
            verdict = f"<= {target:g} s: {'met' if met else 'NOT met'}"
        print(f"  {label:<18}{cells}{ratio}  {first * 1000:15.0f} ms  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="Runs of each command per tree.")
    parser.add_argument("--seconds", type=float, default=40.0, help="Length of the WAV.")
    parser.add_argument(
        "--baseline", default="3569609", help="Git revision to compare with, or 'none'."
    )
    args = parser.parse_args()
    from edm.settings import mlflow_environment_defaults

    # This script is an entry point: it quiets MLflow (progress bars, INFO logs) as edm does.
    for name, value in mlflow_environment_defaults().items():
        os.environ.setdefault(name, value)

    with tempfile.TemporaryDirectory(prefix="edm-bench-startup-") as tmp:
        scratch = Path(tmp)
        trees: dict[str, Path] = {}
        if args.baseline != "none":
            archive = subprocess.run(
                ["git", "-C", str(ROOT), "archive", args.baseline, "src"],
                check=True,
                capture_output=True,
            ).stdout
            (scratch / "baseline").mkdir()
            subprocess.run(["tar", "-x", "-C", scratch / "baseline"], input=archive, check=True)
            trees[f"old ({args.baseline})"] = scratch / "baseline" / "src"
        trees["new (this tree)"] = ROOT / "src"

        store = scratch / "mlruns"
        wav = scratch / "track.wav"
        write_track(wav, args.seconds)
        register_model(store, scratch)
        print(f"store: one registered cnn (untrained) in {store}; track: {args.seconds:g} s WAV")
        results = measure(trees, args.runs, store, wav, scratch)
        report(results, args.runs)
        for i, (name, src) in enumerate(trees.items()):
            uses = imports_mlflow(src, store, wav, scratch / f"cached-{i}", scratch / f"cache-{i}")
            print(f"  {name}: a cached analyze imports mlflow: {'yes' if uses else 'no'}")


if __name__ == "__main__":
    main()
