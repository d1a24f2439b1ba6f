"""An edm checkpoint described as an MLflow python-function model (see ``edm.inference.pyfunc``).

``pyfunc_package`` is the registry's default packager: the registry calls it by name when it
registers a checkpoint, and logs what it returns as an MLflow 3 logged model.
"""

from __future__ import annotations

import io
import json
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.code_version import SHIPPED_FILE, package_dir, shipped_description
from edm.decoding.settings import decode_settings
from edm.errors import CheckpointError
from edm.inference.onnx_artifact import onnx_artifacts
from edm.inference.pyfunc import (
    AUDIO_COLUMN,
    CHECKPOINT_ARTIFACT,
    DEFAULT_MAX_AUDIO_MB,
    DEFAULT_MAX_AUDIO_SECONDS,
    model_code_path,
)
from edm.vocabulary import ENERGY_BANDS, MEL_SAMPLE_RATE

if TYPE_CHECKING:
    from edm.registry.packaging import ModelPackage

# What the model's code imports when it runs, by distribution name. edm itself is not among
# them: its code travels with the version (code/edm), as no package index has ours under "edm".
RUNTIME_DISTRIBUTIONS = (
    "mlflow",
    "torch",
    "numpy",
    "scipy",
    "soundfile",
    "soxr",
    "pydantic",
    "pyyaml",
    "transformers",
    "onnxruntime",
    "onnx",
    "av",
)
_EXAMPLE_SECONDS = 2.0


def pyfunc_package(checkpoint: Path) -> ModelPackage | None:
    """The package of an edm checkpoint; None for a file that is not one."""
    from edm.models.checkpoint import load_checkpoint
    from edm.registry.packaging import ModelPackage

    try:
        contents = load_checkpoint(checkpoint)
    except CheckpointError:
        return None
    decoding = decode_settings()  # today's defaults, kept with the version from now on
    backbone = contents["model_config"].get("backbone", "unknown")
    onnx = onnx_artifacts(Path(checkpoint), backbone)  # made and checked here, once
    return ModelPackage(
        code_path=model_code_path(),
        artifacts={CHECKPOINT_ARTIFACT: Path(checkpoint), **onnx},
        signature=structure_signature(),
        input_example={AUDIO_COLUMN: [example_wav_bytes()]},
        pip_requirements=runtime_requirements(backbone, onnx_graph=bool(onnx)),
        model_config={
            "max_audio_seconds": DEFAULT_MAX_AUDIO_SECONDS,
            "max_audio_mb": DEFAULT_MAX_AUDIO_MB,
            # The decoding settings stored with the version (a later version may narrow them),
            # all of them, read back at load: a later change of a default leaves it as it was.
            "min_bpm": decoding["tempo"]["min_bpm"],
            "max_bpm": decoding["tempo"]["max_bpm"],
            "decoding": decoding,
            "backbone": backbone,
        },
        model_type="edm-structure",
        code_paths=(package_dir(),),
        code_files={f"edm/{SHIPPED_FILE}": json.dumps(shipped_description(), indent=1) + "\n"},
    )


def structure_signature() -> Any:
    """Audio bytes in; the structure ``edm analyze --format json`` gives out."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, DataType, Object, Property, Schema

    energy = Object([Property(band, DataType.double) for band in ENERGY_BANDS])
    section = Object(
        [
            Property("start", DataType.double),
            Property("end", DataType.double),
            Property("label", DataType.string),
            Property("confidence", DataType.double),
            Property("energy", energy),
        ]
    )
    confidence = Object(
        [Property(part, DataType.double) for part in ("overall", "beats", "tempo", "sections")]
    )
    outputs = Schema(
        [
            ColSpec(DataType.double, "duration"),
            ColSpec(DataType.double, "bpm", required=False),  # None when no beat is found
            ColSpec(DataType.string, "time_signature"),
            ColSpec(Array(DataType.double), "beats"),
            ColSpec(Array(DataType.double), "downbeats"),
            ColSpec(Array(section), "sections"),
            ColSpec(confidence, "confidence", required=False),  # decoding/confidence.py
        ]
    )
    return ModelSignature(inputs=Schema([ColSpec(DataType.binary, AUDIO_COLUMN)]), outputs=outputs)


def example_wav_bytes(seconds: float = _EXAMPLE_SECONDS) -> bytes:
    """A short click track at 120 BPM as WAV bytes: an input example that is real audio."""
    import numpy as np
    import soundfile as sf

    rate = MEL_SAMPLE_RATE
    samples = np.zeros(int(seconds * rate), dtype=np.float32)
    click_t = np.arange(int(0.02 * rate)) / rate
    click = (np.sin(2 * np.pi * 1000 * click_t) * np.exp(-click_t / 0.004)).astype(np.float32)
    for start in range(0, samples.size - click.size, rate // 2):
        samples[start : start + click.size] += 0.5 * click
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def runtime_requirements(backbone: str | None = None, *, onnx_graph: bool = False) -> list[str]:
    """Pinned requirements of what is installed now (a local torch build loses its +cpu tag).

    Only what the version runs with: transformers for MERT alone; a version that carries its
    ONNX graph answers with onnxruntime and needs neither torch nor onnx (its environment is
    hundreds of MB smaller, and never pulls a CUDA build of torch on a CPU machine).
    """
    skip = set()
    if backbone == "cnn":  # MERT loads through transformers; the cnn never imports it
        skip.add("transformers")
    if onnx_graph:
        skip |= {"torch", "onnx"}
    pins = []
    for name in RUNTIME_DISTRIBUTIONS:
        if name in skip:
            continue
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
        pins.append(f"{name}=={version.split('+')[0]}")
    return pins
