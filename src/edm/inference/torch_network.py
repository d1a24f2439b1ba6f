"""The PyTorch engine: any backbone, any device."""

from __future__ import annotations

import numpy as np
import torch

from edm.models import MultiTaskModel, to_activations


class TorchNetwork:
    engine = "torch"

    def __init__(self, model: MultiTaskModel, device: torch.device | str = "cpu") -> None:
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.labels = tuple(model.labels)

    @torch.inference_mode()
    def __call__(self, batch: np.ndarray, n_frames: int) -> dict[str, np.ndarray]:
        inputs = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(self.device)
        outputs = to_activations(self.model(inputs, n_frames=n_frames))
        return {task: values.float().cpu().numpy() for task, values in outputs.items()}
