"""Writing a synthetic dataset: ``track_NNN.wav`` + ``track_NNN.yaml`` per track, rendered by a
pool of processes."""

from __future__ import annotations

import io
import logging
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import soundfile as sf

from edm.atomic import atomic_write
from edm.data.annotations import save_annotation
from edm.errors import ConfigError, DataError
from edm.synth.config import SynthConfig
from edm.synth.render import generate_track

logger = logging.getLogger(__name__)


def write_synthetic_dataset(
    out_dir: Path,
    n_tracks: int,
    seed: int = 0,
    config: SynthConfig | None = None,
    on_track: Callable[[Path], None] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write ``track_000.wav`` + ``track_000.yaml``, … into ``out_dir``; returns the YAML paths.

    Tracks are rendered by ``workers`` processes (default: one per CPU); each track depends
    only on ``(seed, index)``, so the files are the same with any number of workers.
    """
    if n_tracks < 1:
        raise ConfigError(f"--tracks must be at least 1, got {n_tracks}")
    config = config or SynthConfig()
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {out_dir}: {exc.strerror or exc}") from None
    workers = min(workers or os.cpu_count() or 1, n_tracks)
    jobs = [(out_dir, seed, index, config) for index in range(n_tracks)]
    written: list[Path] = []
    pool = (
        ProcessPoolExecutor(workers, initializer=_leave_interrupts_to_parent)
        if workers > 1
        else None
    )
    try:
        results = pool.map(_write_track, jobs) if pool is not None else map(_write_track, jobs)
        for path in results:
            written.append(path)
            if on_track is not None:
                on_track(path)
    finally:
        if pool is not None:  # on an error or Ctrl-C, the tracks not started never start
            pool.shutdown(wait=True, cancel_futures=True)
    return written


def _leave_interrupts_to_parent() -> None:
    # Ctrl-C reaches every process of the terminal's group: the parent stops the pool, and a
    # worker printing its own KeyboardInterrupt traceback would only add noise.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _write_track(job: tuple[Path, int, int, SynthConfig]) -> Path:
    out_dir, seed, index, config = job
    track = generate_track(f"track_{index:03d}", seed, index, config)
    wav_path = out_dir / f"{track.name}.wav"
    yaml_path = out_dir / f"{track.name}.yaml"
    # Encoded in memory, then written atomically: a full disk leaves no half WAV, and the
    # error is the system's own ("No space left on device"), not libsndfile's "System error."
    encoded = io.BytesIO()
    sf.write(encoded, track.samples, track.sample_rate, format="WAV", subtype="PCM_16")
    for target, write in (
        (wav_path, lambda: _write_bytes(wav_path, encoded.getvalue())),
        (yaml_path, lambda: save_annotation(track.annotation, yaml_path)),
    ):
        try:
            write()
        except OSError as exc:
            raise DataError(f"cannot write {target}: {exc.strerror or exc}") from None
    logger.debug("wrote %s", yaml_path)
    return yaml_path


def _write_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path) as handle:
        handle.write(data)
