"""How fast ``edm analyze`` is on the CPU, against librosa's beat tracker on the same file.

A 3-minute synthetic track, written as 44.1 kHz stereo 16-bit PCM like a real file, goes
through the stages of ``File2Structure``: decode (libsndfile, downmix, resample to 22050 Hz),
log-mel features, the network over 60 s windows with their context (ONNX Runtime, the default
on the CPU, and PyTorch), and decoding (tempo search, grid fit, downbeats, sections). Each stage
is timed on its own, best of ``--repeats``.

Then, side by side in this process, alternating, best of ``--rounds`` each:

- edm's whole analysis (file → beats, downbeats, sections, labels, energy, confidence), and
- librosa's ``load`` (22050 Hz, mono) + ``beat.beat_track`` (beats and tempo only), the floor;

both print seconds of audio per second and the ratio (the issue's bar: edm >= 1.2x librosa).

Last, before and after: the whole ``File2Structure.analyze`` of the working tree and of the
code at ``--baseline`` (default 3569609, before the ONNX engine; extracted with ``git
archive``), each in its own process on the same file and checkpoint, alternating.

    python bench/analyze_speed.py [--seconds 180] [--repeats 5] [--model best.pt]
                                  [--baseline 3569609 | --baseline none] [--rounds 5]

Needs librosa (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import json
import os
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
from edm.inference.pipeline import File2Structure
from edm.models import MultiTaskModel, save_checkpoint
from edm.synth import SynthConfig, generate_track


def timed(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall-clock seconds of ``repeats`` calls (after one warm-up), and the last result."""
    result = function()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        seconds.append(time.perf_counter() - start)
    return min(seconds), result


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
from edm.inference.pipeline import File2Structure
torch.set_num_threads(int(sys.argv[4]))
wav, model, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
pipeline = File2Structure.from_checkpoint(model)
pipeline.analyze(wav)  # warm-up: imports, allocations
wall, decoding = [], []
for _ in range(repeats):
    start = time.perf_counter()
    analysis = pipeline.analyze(wav)
    wall.append(time.perf_counter() - start)
    decoding.append(analysis.seconds["decoding"])
print(json.dumps({"wall": wall, "decoding": decoding}))
"""


def analyze_in(src: Path, wav: Path, model: Path, repeats: int) -> dict[str, list[float]]:
    """``File2Structure.analyze`` timings of the code under ``src`` (a child process)."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-c", _ANALYZE, str(wav), str(model), str(repeats)]
    command.append(str(torch.get_num_threads()))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_with_baseline(
    revision: str, wav: Path, duration: float, model: Path, repeats: int, rounds: int
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


def compare_with_librosa(
    wav: Path, duration: float, analyzer: File2Structure, rounds: int
) -> tuple[float, float]:
    """Best seconds of edm's whole analysis and of librosa's load + beat_track, alternating."""
    import librosa

    def beat_track() -> Any:
        audio, rate = librosa.load(wav, sr=22050, mono=True)
        return librosa.beat.beat_track(y=audio, sr=rate)

    beat_track(), analyzer.analyze(wav)  # warm-up: librosa's numba kernels compile here
    edm_s, librosa_s = [], []
    for _ in range(rounds):
        for seconds, function in ((edm_s, lambda: analyzer.analyze(wav)), (librosa_s, beat_track)):
            start = time.perf_counter()
            function()
            seconds.append(time.perf_counter() - start)
    edm_best, librosa_best = min(edm_s), min(librosa_s)
    print(f"edm against librosa, the same {duration:.1f} s file, best of {rounds} alternating:")
    print(
        f"  edm analyze (beats, downbeats, sections, labels, energy)  {edm_best * 1000:7.1f} ms"
        f"  {duration / edm_best:7.1f} s of audio per second"
    )
    print(
        f"  librosa load + beat_track (beats, tempo)                 {librosa_best * 1000:7.1f} ms"
        f"  {duration / librosa_best:7.1f} s of audio per second"
    )
    print(f"  ratio edm / librosa: {librosa_best / edm_best:.2f}x (bar: 1.2x)")
    return edm_best, librosa_best


def print_stages(
    path: Path, duration: float, checkpoint: Path, params: FeatureParams, repeats: int
) -> None:
    decode_s, samples = timed(lambda: load_audio(path, params.sample_rate), repeats)
    features_s, features = timed(lambda: log_mel(samples, params), repeats)
    stages: dict[str, float] = {"decode audio": decode_s, "log-mel features": features_s}
    activations = None
    for engine in ("onnx", "torch"):
        frames = File2Structure.from_checkpoint(checkpoint, engine=engine).file2activations
        stage = frames.frames2activations
        seconds, result = timed(lambda stage=stage: stage(features), repeats)
        stages[f"network, {stage.network.engine}"] = seconds
        if activations is None:
            activations = result
        else:  # the engines agree
            assert np.abs(result.beat - activations.beat).max() < 1e-4
    assert activations is not None
    decoding_s, structure = timed(lambda: decode_structure(activations), repeats)
    stages["decoding"] = decoding_s
    total = sum(v for k, v in stages.items() if k != "network, torch")
    print(
        f"{duration:.1f} s track (44.1 kHz stereo 16-bit WAV), {torch.get_num_threads()} "
        f"threads, best of {repeats}"
    )
    for name, seconds in stages.items():
        share = "" if name == "network, torch" else f"{100 * seconds / total:5.1f} %"
        print(f"  {name:<22} {seconds * 1000:8.1f} ms  {share}")
    print(f"  {'total (onnxruntime)':<22} {total * 1000:8.1f} ms")
    print(
        f"speed: {duration / total:.1f} s of audio per second ({duration / total:.1f}x real time)"
    )
    print(f"decoded: {structure.bpm:.2f} BPM, {len(structure.sections)} sections")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--model", type=Path, default=None, help="A checkpoint (default: a new cnn)."
    )
    parser.add_argument("--rounds", type=int, default=5, help="Alternations of each pair.")
    parser.add_argument(
        "--baseline", default="3569609", help="Git revision to compare with, or 'none'."
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = args.model
        if checkpoint is None:  # the default cnn; its speed does not depend on its weights
            torch.manual_seed(0)
            checkpoint = save_checkpoint(
                Path(tmp) / "cnn.pt",
                MultiTaskModel("cnn"),
                feature_params=FeatureParams().to_dict(),
            )
        analyzer = File2Structure.from_checkpoint(checkpoint)  # exports to ONNX, once
        params = FeatureParams.from_dict(dict(analyzer.checkpoint_info["feature_params"]))
        path = Path(tmp) / "bench.wav"
        duration = write_track(path, args.seconds)
        print_stages(path, duration, checkpoint, params, args.repeats)
        compare_with_librosa(path, duration, analyzer, args.rounds)
        if args.baseline != "none":
            compare_with_baseline(
                args.baseline, path, duration, checkpoint, args.repeats, args.rounds
            )


if __name__ == "__main__":
    main()
