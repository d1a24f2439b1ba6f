"""Writing a synthetic dataset: ``track_NNN.wav`` + ``track_NNN.yaml`` per track, rendered by a
pool of processes."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import soundfile as sf

from edm.data.annotations import save_annotation
from edm.errors import ConfigError
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
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = min(workers or os.cpu_count() or 1, n_tracks)
    jobs = [(out_dir, seed, index, config) for index in range(n_tracks)]
    written: list[Path] = []
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        results = pool.map(_write_track, jobs) if pool is not None else map(_write_track, jobs)
        for path in results:
            written.append(path)
            if on_track is not None:
                on_track(path)
    return written


def _write_track(job: tuple[Path, int, int, SynthConfig]) -> Path:
    out_dir, seed, index, config = job
    track = generate_track(f"track_{index:03d}", seed, index, config)
    sf.write(out_dir / f"{track.name}.wav", track.samples, track.sample_rate, subtype="PCM_16")
    yaml_path = out_dir / f"{track.name}.yaml"
    save_annotation(track.annotation, yaml_path)
    logger.debug("wrote %s", yaml_path)
    return yaml_path
