"""Which torch device a command asked for; shared by training and inference."""

from __future__ import annotations

import torch

from edm.errors import ConfigError


def resolve_device(requested: str = "cpu") -> torch.device:
    """``auto`` takes CUDA when there is one; asking for CUDA without one is a ConfigError."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ConfigError(f"--device '{requested}' is not auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"--device '{requested}': CUDA is not available here")
    return device
