"""The decoder before and after, on the same activations: scores of the decoder at a git
revision (default 3edde95, before bar-level decoding) and of the working tree's, side by side.

The model runs once per track; its activations are cached (``--cache``) so that decoder
settings can be tried again quickly. The old decoder's module is read from git and imported
under another name; it uses today's ``FrameActivations``, ``TrackStructure`` and tempo search.

    python bench/decode_quality.py --model best.pt DATA_DIR [DATA_DIR ...] [--cache DIR]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from edm.data.tracks import load_dataset
from edm.decoding.activations import FrameActivations
from edm.decoding.decode import decode_structure
from edm.decoding.structure import TrackStructure
from edm.evaluation.metrics import METRIC_NAMES, aggregate, score_track

SHOWN = ("beat_f", "downbeat_f", "boundary_f_0.5", "boundary_f_3", "label_accuracy")
_FIELDS = ("beat", "downbeat", "boundary", "energy", "label")


def old_decoder(revision: str) -> Callable[[FrameActivations], TrackStructure]:
    source = subprocess.run(
        ["git", "show", f"{revision}:src/edm/decoding/decode.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp()) / "old_decode.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("old_decode", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["old_decode"] = module
    spec.loader.exec_module(module)
    return module.decode_structure


def lazy_analyzer(checkpoint: Path) -> Callable[[], Any]:
    """The checkpoint's ``File2Structure``, loaded on the first call only (a fully cached run
    never loads the network)."""
    loaded: list[Any] = []

    def analyzer() -> Any:
        if not loaded:
            from edm.inference.pipeline import File2Structure

            loaded.append(File2Structure.from_checkpoint(checkpoint))
        return loaded[0]

    return analyzer


def cached_activations(model: Path, audio: Path, cache: Path | None, analyzer) -> FrameActivations:
    key = hashlib.sha1(f"{model.resolve()}:{model.stat().st_mtime}:{audio.resolve()}".encode())
    file = cache / f"{key.hexdigest()[:16]}.npz" if cache else None
    if file is not None and file.exists():
        stored = np.load(file)
        features = stored["features"] if "features" in stored.files else None
        return FrameActivations(
            frame_rate=float(stored["frame_rate"]),
            labels=tuple(str(x) for x in stored["labels"]),
            features=features,
            **{name: stored[name] for name in _FIELDS},
        )
    activations = analyzer().analyze(audio).activations
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        extra = {} if activations.features is None else {"features": activations.features}
        np.savez(
            file,
            frame_rate=activations.frame_rate,
            labels=np.array(activations.labels),
            **{name: getattr(activations, name) for name in _FIELDS},
            **extra,
        )
    return activations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", type=Path, nargs="+")
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--revision", default="3edde95")
    parser.add_argument("--per-track", action="store_true")
    args = parser.parse_args()

    analyzer = lazy_analyzer(args.model)
    decoders = {"before": old_decoder(args.revision), "after": decode_structure}
    for data_dir in args.data_dirs:
        rows: dict[str, list[dict[str, float]]] = {name: [] for name in decoders}
        for track in load_dataset(data_dir).tracks:
            activations = cached_activations(args.model, track.audio_path, args.cache, analyzer)
            for name, decode in decoders.items():
                structure = decode(activations)
                scores = score_track(track.annotation, structure)
                rows[name].append({k: scores[k] for k in METRIC_NAMES})
                if args.per_track:
                    shown = " ".join(f"{scores[k]:.2f}" for k in SHOWN)
                    labels = ",".join(s.label[:4] for s in structure.sections)
                    print(f"  {track.name} {name:<6} {shown}  {labels}")
        print(f"{data_dir} ({len(rows['after'])} tracks)")
        print(f"  {'':<8}" + "".join(f"{k:>16}" for k in SHOWN))
        for name, per_track in rows.items():
            means = aggregate(per_track)
            print(f"  {name:<8}" + "".join(f"{means[k]:>16.3f}" for k in SHOWN))


if __name__ == "__main__":
    main()
