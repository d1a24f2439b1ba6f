"""How fast ``edm analyze`` is on the CPU: seconds of audio per wall-clock second, by stage.

A 3-minute synthetic track, written as 44.1 kHz stereo like a real file, goes through the
stages of ``File2Structure``: decode (libsndfile, downmix, resample to 22050 Hz), log-mel
features, the model over 60 s windows with their context, and decoding (tempo search, grid
fit, downbeats, sections). Each stage is timed on its own, median of ``--repeats`` runs. The
baseline is real time (1x); the windowed model is also compared with one pass over the whole
track, which gives the same activations but holds the whole track in memory at once.

Then before and after, side by side in the same run: the whole ``File2Structure.analyze``
(read the file, features, model, decoding and whatever the pipeline adds) of the working tree
and of the code at ``--baseline`` (default 3edde95, before bar-level decoding; extracted with
``git archive``), each in its own process on the same file with the same model, alternating;
both print seconds of audio analysed per second and the ratio.

    python bench/analyze_speed.py [--seconds 180] [--repeats 3] [--model best.pt]
                                  [--baseline 3edde95 | --baseline none] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr
import torch

from edm.audio.features import FeatureParams, log_mel
from edm.audio.io import load_audio
from edm.decoding.decode import decode_structure
from edm.inference.pipeline import DEFAULT_WINDOW_SECONDS, Frames2Activations
from edm.models import MultiTaskModel, load_model
from edm.synth import SynthConfig, generate_track


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Median wall-clock seconds of ``repeats`` calls, and the last result."""
    seconds, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


def write_track(path: Path, seconds: float) -> float:
    """``seconds`` of synthetic music as 44.1 kHz stereo PCM; returns its length.

    The generator's forms end before 3 minutes at most tempos: the track is played again from
    the start until it is long enough.
    """
    track = generate_track("bench", seed=0, index=0, config=SynthConfig())
    mono = track.samples.astype(np.float32) / 32768.0
    wide = soxr.resample(mono, track.sample_rate, 44100)
    wide = np.tile(wide, int(np.ceil(seconds * 44100 / wide.size)))[: round(seconds * 44100)]
    sf.write(path, np.stack([wide, wide], axis=1), 44100, subtype="PCM_16")
    return wide.size / 44100


# Run in a child process with PYTHONPATH naming one tree's src/: the pipeline as each
# revision builds it (the File2Structure constructor is the same at both).
_ANALYZE = """
import json, statistics, sys, time
import torch
from edm.audio.features import FeatureParams
from edm.inference.pipeline import File2Activations, File2Structure, Frames2Activations
from edm.models import MultiTaskModel
torch.set_num_threads(int(sys.argv[4]))
wav, model, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
if model:
    pipeline = File2Structure.from_checkpoint(model)
else:
    torch.manual_seed(0)
    frames = Frames2Activations(MultiTaskModel("cnn").eval(), FeatureParams())
    pipeline = File2Structure(File2Activations(frames))
pipeline.analyze(wav)  # warm-up: imports, allocations
wall, decoding = [], []
for _ in range(repeats):
    start = time.perf_counter()
    analysis = pipeline.analyze(wav)
    wall.append(time.perf_counter() - start)
    decoding.append(analysis.seconds["decoding"])
print(json.dumps({"wall": wall, "decoding": decoding}))
"""


def analyze_in(src: Path, wav: Path, model: Path | None, repeats: int) -> dict[str, list[float]]:
    """``File2Structure.analyze`` timings of the code under ``src`` (a child process)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-c", _ANALYZE, str(wav), str(model or ""), str(repeats)]
    command.append(str(torch.get_num_threads()))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_with_baseline(
    revision: str, wav: Path, duration: float, model: Path | None, repeats: int, rounds: int
) -> None:
    """Before (``revision``) and after (this tree), alternating, best of ``repeats`` each."""
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "-C", str(root), "archive", revision, "src"], check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
        trees = {f"before ({revision})": Path(tmp) / "src", "after (this tree)": root / "src"}
        runs: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        for _ in range(rounds):  # alternate, so that a busy moment does not favour one side
            for name, src in trees.items():
                result = analyze_in(src, wav, model, repeats)
                for key, values in result.items():
                    runs[name].setdefault(key, []).extend(values)
    runs_each = rounds * repeats
    print(f"before/after, whole analyze of the same {duration:.1f} s file, best of {runs_each}:")
    speeds = {}
    for name, result in runs.items():
        best = min(result["wall"])
        speeds[name] = duration / best
        print(
            f"  {name:<22} {best * 1000:8.1f} ms  {speeds[name]:7.1f} s of audio per second"
            f"  (decoding {min(result['decoding']) * 1000:.1f} ms)"
        )
    before, after = speeds.values()
    change = 100 * abs(1 - after / before)
    word = "slower" if after < before else "faster"
    print(f"  after / before speed: {after / before:.3f} (after is {change:.1f} % {word})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--model", type=Path, default=None, help="A checkpoint (default: a new cnn)."
    )
    parser.add_argument("--rounds", type=int, default=3, help="Before/after alternations.")
    parser.add_argument(
        "--baseline", default="3edde95", help="Git revision to compare with, or 'none'."
    )
    args = parser.parse_args()

    params = FeatureParams()
    if args.model is not None:
        model, checkpoint = load_model(args.model)
        params = FeatureParams.from_dict(dict(checkpoint["feature_params"]))
    else:
        torch.manual_seed(0)  # the default cnn; its speed does not depend on its weights
        model = MultiTaskModel("cnn").eval()
    windowed = Frames2Activations(model, params, window_seconds=DEFAULT_WINDOW_SECONDS)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.wav"
        duration = write_track(path, args.seconds)
        decode_s, samples = timed(lambda: load_audio(path, params.sample_rate), args.repeats)
        if args.baseline != "none":
            compare_with_baseline(
                args.baseline, path, duration, args.model, args.repeats, args.rounds
            )
    features_s, features = timed(lambda: log_mel(samples, params), args.repeats)
    model_s, activations = timed(lambda: windowed(features), args.repeats)
    decoding_s, structure = timed(lambda: decode_structure(activations), args.repeats)
    one_pass = Frames2Activations(model, params, window_seconds=duration + 1)
    one_pass_s, whole = timed(lambda: one_pass(features), args.repeats)
    assert np.allclose(whole.beat, activations.beat, atol=1e-4)  # windows change no output

    stages = {
        "decode audio": decode_s,
        "log-mel features": features_s,
        "model (60 s windows)": model_s,
        "decoding": decoding_s,
    }
    total = sum(stages.values())
    print(
        f"{duration:.1f} s track (44.1 kHz stereo WAV), {torch.get_num_threads()} torch threads, "
        f"median of {args.repeats}; model: {args.model or 'new cnn (default config)'}"
    )
    for name, seconds in stages.items():
        print(f"  {name:<22} {seconds * 1000:8.1f} ms  {100 * seconds / total:5.1f} %")
    print(f"  {'total':<22} {total * 1000:8.1f} ms")
    print(
        f"speed: {duration / total:.1f} s of audio per second "
        f"({duration / total:.1f}x real time; baseline real time = 1x)"
    )
    print(
        f"model in one pass over the whole track: {one_pass_s * 1000:.1f} ms "
        f"(windows cost {model_s / one_pass_s:.2f}x a single pass, same activations)"
    )
    print(f"decoded: {structure.bpm:.2f} BPM, {len(structure.sections)} sections")


if __name__ == "__main__":
    main()
