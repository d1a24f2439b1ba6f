"""What the windowed inference runs: a network from model inputs to per-frame probabilities.

Two engines give the same numbers (within float32 rounding): PyTorch, for any backbone and
device, and ONNX Runtime, for the cnn on the CPU, where it runs 2-3x faster and needs no torch
at all once the checkpoint's ONNX export is cached (``edm.inference.onnx_export``).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from edm.models.config import ModelConfig


class Network(Protocol):
    """``(1, n_mels, T)`` log-mel (or ``(1, samples)`` audio) → probabilities per task, each
    ``(1, T')`` or ``(1, C, T')`` with ``T' = n_frames``."""

    engine: str  # "torch" or "onnxruntime": reported with the analysis
    config: ModelConfig
    labels: tuple[str, ...]

    def __call__(self, batch: np.ndarray, n_frames: int) -> dict[str, np.ndarray]: ...


_threads = 0


def set_inference_threads(threads: int) -> None:
    """Intra-op threads of each analysis in this process (0: the engine's default, every
    core), for both engines: where several files are analysed at once (one per core in
    ``edm serve`` and in Spark tasks), one thread each avoids oversubscribing the CPU."""
    global _threads
    _threads = max(0, int(threads))
    import sys

    if threads and "torch" in sys.modules:  # torch is not imported for it
        sys.modules["torch"].set_num_threads(int(threads))


def inference_threads() -> int:
    return _threads
