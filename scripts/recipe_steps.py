"""Steps shared by scripts/lofo.py and scripts/reference_model.py: synthesize (once), select
tracks by family, train the recipe, score a folder and the click/drum fixtures, print a table.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any

import yaml

from edm.training.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]
FIGURES = (
    "beat_f",
    "beat_cmlt",
    "beat_amlt",
    "beat_info_gain",
    "bpm_accuracy",
    "bpm_acc2",
    "downbeat_f",
    "boundary_f_0.5",
    "boundary_f_3",
    "label_accuracy",
)
FIXTURE_TEMPOS = (120.0, 140.0, 150.0, 174.0)  # as tests/inference/test_trained_model.py
FIXTURE_SECONDS = 20.0
_MARKER = ".synth.json"


def load_families() -> tuple[tuple[str, ...], tuple[str, ...]]:
    from edm.synth.families import ARRANGEMENT_FAMILIES, SOUND_FAMILIES

    return tuple(SOUND_FAMILIES), tuple(ARRANGEMENT_FAMILIES)


def synthesize_once(
    folder: Path,
    recipe: Recipe,
    *,
    n_tracks: int,
    seed: int,
    sound: tuple[str, ...] | None = None,
    arrangement: tuple[str, ...] | None = None,
) -> Path:
    """Synthesize into ``folder`` unless it already holds exactly this set (a marker says)."""
    from edm.synth import write_synthetic_dataset

    config = recipe.synth_config(sound, arrangement)
    wanted = {"n_tracks": n_tracks, "seed": seed, "config": repr(config)}
    marker = folder / _MARKER
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    write_synthetic_dataset(folder, n_tracks, seed=seed, config=config)
    marker.write_text(json.dumps(wanted))
    return folder


def warm_feature_cache(folders: list[Path], workers: int) -> None:
    """Compute every track's log-mel features into the shared cache with ``workers`` processes,
    so that parallel folds read them instead of each computing the same ones."""
    from concurrent.futures import ProcessPoolExecutor

    paths = sorted({p.resolve() for folder in folders for p in folder.glob("*.wav")})
    with ProcessPoolExecutor(max(1, workers)) as pool:
        list(pool.map(_features_of, paths, chunksize=4))


def _features_of(path: Path) -> None:
    import torch

    from edm.audio.cache import load_features
    from edm.audio.features import FeatureParams

    torch.set_num_threads(1)
    load_features(path, FeatureParams(), True)


def track_metadata(annotation: Path) -> dict[str, Any]:
    data = yaml.safe_load(annotation.read_text()) or {}
    return data.get("metadata") or {}


def select_tracks(
    pool: Path, dest: Path, key: str, family: str, keep_family: bool, *, allow_empty: bool = False
) -> Path | None:
    """``dest`` with symlinks to the pool's tracks whose ``metadata[key]`` is ``family``
    (``keep_family``) or is not; features are cached by content, so nothing is recomputed.
    None when no track qualifies and ``allow_empty``."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for annotation in sorted(pool.glob("*.yaml")):
        metadata = track_metadata(annotation)
        if key not in metadata:
            raise SystemExit(f"{annotation}: metadata has no {key} (generator without families?)")
        if (metadata[key] == family) != keep_family:
            continue
        for path in (annotation, annotation.with_suffix(".wav")):
            (dest / path.name).symlink_to(path.resolve())
    if not any(dest.glob("*.yaml")):
        if allow_empty:
            return None
        raise SystemExit(f"{pool}: no track {'of' if keep_family else 'outside'} {key} {family}")
    return dest


def train_recipe(
    recipe: Recipe,
    data: Path,
    output_dir: Path,
    run_name: str,
    *,
    device: str = "auto",
    registry: Any = None,
    description: str = "",
) -> Any:
    """Train ``recipe`` on ``data``; returns the TrainingResult (``best_checkpoint``,
    ``model_version`` with a registry)."""
    from edm.training.pipeline import train_from_directory

    config = recipe.training_config(output_dir, run_name, device=device, description=description)
    job = train_from_directory(
        data,
        config,
        registry,
        model_options=dict(recipe.model_options),
        crops_per_track=recipe.crops_per_track,
    )
    return job.result


def _analyzer(checkpoint: Path, device: str) -> Any:
    from edm.inference.pipeline import File2Structure

    return File2Structure.from_checkpoint(checkpoint, device=_inference_device(device))


def _inference_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def evaluate_folder(folder: Path, checkpoint: Path, device: str = "cpu") -> dict[str, float]:
    """``edm evaluate``'s aggregate scores of ``checkpoint`` on an annotated folder."""
    from edm.evaluation.evaluate import evaluate_dataset

    report = evaluate_dataset(folder, _analyzer(checkpoint, device), model=str(checkpoint))
    return {**report.aggregate, "n_tracks": float(len(report.tracks))}


def _material() -> Any:
    path = ROOT / "tests" / "inference" / "audio_material.py"
    spec = importlib.util.spec_from_file_location("edm_audio_material", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load the fixtures' generator {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_fixtures(folder: Path) -> Path:
    """The 12 click/drum fixtures (click, four-on-the-floor, breakbeat x 4 tempos)."""
    material = _material()
    folder.mkdir(parents=True, exist_ok=True)
    for kind in sorted(material.MATERIAL):
        for bpm in FIXTURE_TEMPOS:
            material.write_material(folder, kind, bpm, seconds=FIXTURE_SECONDS)
    return folder


def evaluate_fixtures(folder: Path, checkpoint: Path, device: str = "cpu") -> dict[str, float]:
    """Tempo within 4 % (what tests/inference checks), beat F and downbeat F against the grid
    the fixtures are made on (first beat at 0.5 s, bar starting on it)."""
    import numpy as np

    from edm.evaluation.metrics import beat_f_measure, bpm_correct

    analyze = _analyzer(checkpoint, device)
    rows = []
    for wav in sorted(folder.glob("*.wav")):
        bpm = float(wav.stem.split("_")[1])
        beats = np.arange(0.5, FIXTURE_SECONDS - 0.05, 60.0 / bpm)
        structure = analyze(wav)
        rows.append(
            {
                "beat_f": beat_f_measure(beats, structure.beats),
                "downbeat_f": beat_f_measure(beats[::4], structure.downbeats),
                "bpm_accuracy": float(bpm_correct(bpm, structure.bpm)),
            }
        )
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    return {**mean, "n_tracks": float(len(rows))}


def format_table(rows: dict[str, dict[str, float]]) -> str:
    keys = [k for k in (*FIGURES, "n_tracks") if any(k in r for r in rows.values())]
    width = max(len(name) for name in rows) + 2
    lines = [" " * width + "".join(f"{k:>16}" for k in keys)]
    for name, row in rows.items():
        cells = "".join(
            f"{'-':>16}"
            if k not in row
            else f"{row[k]:>16.0f}"
            if k == "n_tracks"
            else f"{row[k]:>16.3f}"
            for k in keys
        )
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)
