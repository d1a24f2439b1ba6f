"""Catalogue throughput: ``edm batch analyze`` on Spark against a loop of ``edm analyze``.

The same tracks (``--tracks``, default 64, each ``--seconds`` long, default 180, written as
44.1 kHz stereo WAV like real files) through, in one run:

  (a) ``edm analyze`` over all of them in one process (the single-process loop: the baseline);
  (b) ``edm batch analyze`` on ``local[2]``, and on ``local[1]`` for the scaling;
  (c) librosa's beat tracker alone (load + ``beat_track``) in one process: a floor of what any
      beat analysis costs here (``pip install -e '.[bench]'`` installs librosa; skipped,
      with that hint, when it is missing);
  (d) ``mlflow.pyfunc.spark_udf`` over the same version on ``local[2]`` (what edm batch does
      not use: one bad file fails its whole task; here every file is good);
  (e) ``edm batch analyze`` on a real Spark standalone cluster of two one-core workers started
      from the installed PySpark on loopback (tests/spark_cluster.py): the model shipped as an
      archive, the executors' Python named with ``--python``, the tracks on a ``--shared-path``.
      Its per-core throughput is printed beside ``local[2]``'s.

``--runs`` picks some of them (``loop,local2,local1,udf,librosa,cluster``; default all).

Each runs as its own child process; peak memory is the largest sum of the resident memory of
its whole process tree (for Spark: the driver, the JVM and the Python workers), sampled every
0.2 s from /proc. Spark's start-up (the JVM and the session) is reported apart from the
analysis, which counts from the first chunk submitted until the last one written.

Tracks: ``--distinct`` (default 16) tracks from the project's generator, each written in
``tracks / distinct`` variants (another gain, the audio rotated by a fraction of a second) so
that every file has its own content hash; synthesising 64 three-minute tracks would take
minutes longer and measure the generator, not the analysis.

The model: a default-size ``cnn`` (untrained: the same arithmetic as a trained one), or
``--model best.pt``, registered and promoted in a throwaway store.

    python bench/batch_analyze.py [--tracks 64] [--seconds 180] [--data DIR] [--model best.pt]
                                  [--runs loop,local2,cluster]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the tests' Spark standalone cluster
RUNS = ("loop", "local2", "local1", "udf", "librosa", "cluster")
EDM = [sys.executable, "-m", "edm"]
OUTPUT_RATE = 44100

_LIBROSA = """
import sys, time, numpy, librosa
paths = sys.argv[1:]
# numba compiles the tracker on its first call (seconds): not part of the per-track cost.
librosa.beat.beat_track(y=numpy.random.default_rng(0).standard_normal(22050 * 5), sr=22050)
started = time.perf_counter()
for path in paths:
    y, sr = librosa.load(path, sr=22050, mono=True)
    librosa.beat.beat_track(y=y, sr=sr)
print(time.perf_counter() - started)
"""


# (d) MLflow's own spark_udf over the same version, on local[2] with the same Spark settings:
# the bytes of each file travel through the JVM (binaryFile) to the UDF.
_SPARK_UDF = """
import sys, time
import mlflow.pyfunc
from edm.batch.spark import spark_session
started = time.perf_counter()
session = spark_session("local[2]")
spark_start = time.perf_counter() - started
started = time.perf_counter()
udf = mlflow.pyfunc.spark_udf(session, "models:/edm-structure-detector/1", env_manager="local")
frame = session.read.format("binaryFile").load(sys.argv[1]).selectExpr("content as audio")
rows = frame.select(udf("audio").bpm.alias("bpm")).collect()
assert len(rows) == int(sys.argv[2]), len(rows)
print(time.perf_counter() - started, spark_start)
session.stop()
"""


def write_catalogue(folder: Path, tracks: int, seconds: float, distinct: int) -> list[Path]:
    from edm.synth import SynthConfig, generate_track

    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"track-{i:03d}.wav" for i in range(tracks)]
    if all(p.is_file() for p in paths):
        return paths
    config = SynthConfig(min_seconds=seconds, max_seconds=seconds + 20)
    variants = -(-tracks // distinct)
    rng = np.random.default_rng(0)
    for source in range(distinct):
        track = generate_track("bench", seed=source, index=source, config=config)
        mono = track.samples.astype(np.float32) / 32768.0
        wide = soxr.resample(mono, track.sample_rate, OUTPUT_RATE)
        wide = np.tile(wide, int(np.ceil(seconds * OUTPUT_RATE / wide.size)))
        for variant in range(variants):
            index = source * variants + variant
            if index >= tracks:
                break
            shift = int(rng.integers(0, OUTPUT_RATE // 2))
            gain = 0.7 + 0.3 * rng.random()
            audio = (gain * np.roll(wide, shift))[: round(seconds * OUTPUT_RATE)]
            sf.write(paths[index], np.stack([audio, audio], axis=1), OUTPUT_RATE, "PCM_16")
    return paths


def register_model(store: Path, checkpoint: Path | None) -> None:
    from edm.registry import ModelRegistry

    if checkpoint is None:
        from edm.audio.features import FeatureParams
        from edm.models import MultiTaskModel, save_checkpoint

        checkpoint = store.parent / "default-cnn.pt"
        save_checkpoint(checkpoint, MultiTaskModel("cnn"), feature_params=FeatureParams().to_dict())
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None)
    registry.log_model(checkpoint, "bench", {"backbone": "cnn"}, {})
    registry.promote_model(1, "Production")


class PeakMemory:
    """The largest resident memory of a process and all its descendants, sampled."""

    def __init__(self, pid: int, *others: int) -> None:
        self.pids = (pid, *others)
        self.peak_bytes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak_bytes = max(self.peak_bytes, sum(_tree_rss(pid) for pid in self.pids))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak_bytes / 2**20


def _tree_rss(root: int) -> int:
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            status = (entry / "status").read_text()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                rss[int(entry.name)] = int(line.split()[1]) * 1024
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def timed_run(
    command: list[str], env: dict[str, str], also: tuple[int, ...] = ()
) -> tuple[float, float, str]:
    """Wall seconds, peak MB of the process tree (and of the trees of ``also``: a cluster's
    workers), and stdout of a child process."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.PIPE, env=env, cwd=ROOT)
        memory = PeakMemory(child.pid, *also)
        _, stderr = child.communicate()
        wall = time.perf_counter() - started
        peak = memory.stop()
        out.seek(0)
        text = out.read().decode()
    if child.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(command[:6])}… failed:\n{stderr.decode()[-3000:]}")
    return wall, peak, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracks", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--distinct", type=int, default=16)
    parser.add_argument("--data", type=Path, default=None, help="keep the tracks here")
    parser.add_argument("--model", type=Path, default=None, help="a .pt checkpoint")
    parser.add_argument("--runs", default=",".join(RUNS), help="which runs, comma-separated")
    args = parser.parse_args()
    runs = {name.strip() for name in args.runs.split(",") if name.strip()}
    if runs - set(RUNS):
        parser.error(f"--runs: unknown {', '.join(sorted(runs - set(RUNS)))}")

    work = Path(tempfile.mkdtemp(prefix="edm-bench-batch-"))
    data = args.data or work / "catalogue"
    started = time.perf_counter()
    paths = write_catalogue(data, args.tracks, args.seconds, args.distinct)
    audio_s = sum(sf.info(p).duration for p in paths)
    took = time.perf_counter() - started
    print(f"{len(paths)} tracks, {audio_s / len(paths):.0f} s each ({took:.0f} s to write)")
    store = work / "mlruns"
    register_model(store, args.model)
    # A plain MLflow client (the spark_udf run) needs the SQLite URI; edm takes it too.
    env = dict(os.environ, MLFLOW_TRACKING_URI=f"sqlite:///{store}/mlflow.db")
    rows: list[dict[str, Any]] = []

    # The loop's own start-up (imports, model download and load): one 2-second file.
    if "loop" in runs:
        short = work / "short.wav"
        sf.write(short, np.zeros(2 * OUTPUT_RATE, dtype=np.float32), OUTPUT_RATE)
        startup, _, _ = timed_run(EDM + ["analyze", "-m", "1", "-f", "json", str(short)], env)
        command = EDM + ["analyze", "-m", "1", "-f", "json", *map(str, paths)]
        wall, peak, _ = timed_run(command, env)
        rows.append(_row("(a) edm analyze, one process", wall, wall - startup, startup, peak))

    for cores in (2, 1):
        if f"local{cores}" in runs:
            rows.append(_batch_row(f"local[{cores}]", data, work, env, len(paths)))

    if "udf" in runs:
        wall, peak, text = timed_run(
            [sys.executable, "-c", _SPARK_UDF, f"{data}/*.wav", str(len(paths))], env
        )
        analysis, spark_start = map(float, text.split()[-2:])
        rows.append(
            _row(
                "(d) mlflow spark_udf, local[2]",
                wall,
                analysis,
                wall - analysis,
                peak,
                spark_start=spark_start,
            )
        )

    if "librosa" in runs:
        try:
            import librosa  # noqa: F401

            command = [sys.executable, "-c", _LIBROSA, *map(str, paths)]
            wall, peak, text = timed_run(command, env)
            rows.append(
                _row("(c) librosa beat_track alone", wall, float(text), wall - float(text), peak)
            )
        except ImportError:
            print("librosa is not installed: pip install -e '.[bench]' to add the floor (c)")

    if "cluster" in runs:
        from tests.spark_cluster import SparkStandalone

        cluster = SparkStandalone(work / "standalone", workers=2, cores=1).start()
        try:
            rows.append(_batch_row("standalone", data, work, env, len(paths), cluster))
        finally:
            cluster.stop()

    print()
    print("| run | tracks/s | audio s/s | analysis s | start-up s | wall s | peak MB |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        tps = len(paths) / row["analysis"]
        startup_text = f"{row['startup']:.1f}"
        if row.get("spark_start") is not None:
            startup_text += f" (Spark {row['spark_start']:.1f})"
        print(
            f"| {row['name']} | {tps:.3f} | {tps * audio_s / len(paths):.0f} | "
            f"{row['analysis']:.1f} | {startup_text} | {row['wall']:.1f} | {row['peak']:.0f} |"
        )
    named = {row["name"]: row for row in rows}
    loop = named.get("(a) edm analyze, one process")
    two = named.get("(b) edm batch analyze, local[2]")
    one = named.get("(b) edm batch analyze, local[1]")
    cluster_row = named.get("(e) edm batch analyze, standalone")
    print()
    if loop and two:
        print(
            f"batch local[2] / loop, analysis only: {loop['analysis'] / two['analysis']:.2f}x; "
            f"end to end: {loop['wall'] / two['wall']:.2f}x"
        )
    if one and two:
        print(f"scaling local[1] -> local[2]: {one['analysis'] / two['analysis']:.2f}x")
    for row in rows:
        if "rerun_wall" in row:
            print(
                f"{row['name']}: re-run with nothing to do {row['rerun_wall']:.2f} s, "
                f"the full run {row['wall']:.1f} s ({row['wall'] / row['rerun_wall']:.0f}x)"
            )
    if cluster_row:
        for row, cores in ((two, 2), (cluster_row, 2)):
            if row:
                per_core = len(paths) / row["analysis"] / cores
                print(f"{row['name']}: {per_core:.3f} tracks/s per core ({cores} cores)")
        if two:
            print(
                "standalone (2 workers x 1 core) / local[2], analysis: "
                f"{two['analysis'] / cluster_row['analysis']:.2f}x"
            )
    print(json.dumps({"tracks": len(paths), "audio_s": audio_s, "rows": rows}))


def _batch_row(
    where: str,
    data: Path,
    work: Path,
    env: dict[str, str],
    tracks: int,
    cluster: Any = None,
) -> dict[str, Any]:
    """(b) or (e): one edm batch job, on local[N] or on the standalone cluster."""
    out = work / f"out-{where.replace('[', '').replace(']', '')}"
    command = EDM + ["batch", "analyze", str(data), "--out", str(out), "--json"]
    workers: tuple[int, ...] = ()
    if cluster is None:
        command += ["--master", where]
        name = f"(b) edm batch analyze, {where}"
    else:
        command += ["--master", cluster.url, "--python", sys.executable]
        command += ["--shared-path", str(data), "--conf", "spark.ui.enabled=false"]
        workers = cluster.pids()
        name = "(e) edm batch analyze, standalone"
    wall, peak, text = timed_run(command, env, workers)
    summary = json.loads(text)
    assert summary["analysed"] == tracks, summary
    row = _row(
        name,
        wall,
        summary["analysis_s"],
        wall - summary["analysis_s"],
        peak,
        spark_start=summary["spark_start_s"],
    )
    # The same job again, with everything done: the driver skips every unchanged file.
    again, _, text = timed_run(command, env, workers)
    assert json.loads(text)["skipped"] == tracks
    row["rerun_wall"] = again
    return row


def _row(
    name: str,
    wall: float,
    analysis: float,
    startup: float,
    peak: float,
    spark_start: float | None = None,
) -> dict[str, Any]:
    return {
        "name": name,
        "wall": wall,
        "analysis": analysis,
        "startup": startup,
        "peak": peak,
        "spark_start": spark_start,
    }


if __name__ == "__main__":
    main()
