"""A cnn checkpoint exported to ONNX, and checked: ONNX Runtime must give torch's outputs.

The exported graph ends with the heads' sigmoid and softmax, so it answers probabilities, as
``TorchNetwork`` does; its time axis is dynamic (any window length). The legacy TorchScript
exporter is used: the cnn has no control flow, and it needs neither onnxscript nor dynamo.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch

from edm.errors import ModelError
from edm.inference.onnx_network import ONNX_INPUT, OnnxNetwork
from edm.inference.torch_network import TorchNetwork
from edm.models import TASKS, MultiTaskModel, to_activations

OPSET = 17
# Largest difference allowed between the engines' probabilities (measured: below 1e-6).
TOLERANCE = 1e-4
_CHECK_FRAMES = (257, 1000)  # odd and even, neither the export's own length


class _Probabilities(torch.nn.Module):
    def __init__(self, model: MultiTaskModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = to_activations(self.model(inputs))
        return tuple(outputs[task] for task in TASKS)


def export_onnx(model: MultiTaskModel) -> bytes:
    """The ONNX graph of a cnn ``model`` (ModelError for another backbone or a mismatch)."""
    if model.config.backbone != "cnn":
        raise ModelError(f"only the cnn is exported to ONNX, not '{model.config.backbone}'")
    model = model.cpu().eval()
    example = torch.zeros(1, model.config.n_mels, 300)
    with torch.inference_mode():
        shapes = {task: value.dim() for task, value in to_activations(model(example)).items()}
    time_axes = {task: {0: "batch", shapes[task] - 1: "frames"} for task in TASKS}
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # the legacy exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            _Probabilities(model),
            (example,),
            buffer,
            dynamo=False,
            input_names=[ONNX_INPUT],
            output_names=list(TASKS),
            dynamic_axes={ONNX_INPUT: {0: "batch", 2: "frames"}, **time_axes},
            opset_version=OPSET,
        )
    graph = buffer.getvalue()
    check_equal_outputs(model, graph)
    return graph


def check_equal_outputs(model: MultiTaskModel, graph: bytes) -> float:
    """Run both engines on the same random inputs; the largest difference, or ModelError."""
    rng = np.random.default_rng(0)
    onnx_network = OnnxNetwork(graph, model.config, tuple(model.labels), threads=1)
    torch_network = TorchNetwork(model, "cpu")
    worst = 0.0
    for frames in _CHECK_FRAMES:
        batch = (3.0 * rng.random((1, model.config.n_mels, frames))).astype(np.float32)
        expected = torch_network(batch, frames)
        got = onnx_network(batch, frames)
        for task, values in expected.items():
            if got[task].shape != values.shape:
                raise ModelError(f"ONNX export: '{task}' has shape {got[task].shape}")
            worst = max(worst, float(np.abs(got[task] - values).max()))
    if worst > TOLERANCE:
        raise ModelError(f"ONNX export differs from torch by {worst:.2e} (> {TOLERANCE})")
    return worst
