"""The ONNX Runtime engine: the cnn on the CPU, from a verified export of its checkpoint.

Importing this module imports neither torch nor onnxruntime; the session is made when the
network is built. Sessions are safe to call from several threads at once (``edm serve``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edm.errors import ModelError
from edm.inference.network import inference_threads
from edm.models.config import ModelConfig

ONNX_INPUT = "inputs"


class OnnxNetwork:
    engine = "onnxruntime"

    def __init__(
        self,
        model: Path | bytes,
        config: ModelConfig,
        labels: tuple[str, ...],
        threads: int | None = None,
    ) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = inference_threads() if threads is None else threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # warnings about unused initialisers are not the user's
        source = str(model) if isinstance(model, Path) else model
        self.session = onnxruntime.InferenceSession(
            source, options, providers=["CPUExecutionProvider"]
        )
        self.outputs = [output.name for output in self.session.get_outputs()]
        self.config = config
        self.labels = tuple(labels)

    def __call__(self, batch: np.ndarray, n_frames: int) -> dict[str, np.ndarray]:
        inputs = np.ascontiguousarray(batch, dtype=np.float32)
        values = self.session.run(self.outputs, {ONNX_INPUT: inputs})
        result = dict(zip(self.outputs, values, strict=True))
        for task, value in result.items():
            if value.shape[-1] != n_frames:  # the cnn keeps every frame: never expected
                raise ModelError(f"ONNX output '{task}': {value.shape[-1]} frames, not {n_frames}")
        return result
