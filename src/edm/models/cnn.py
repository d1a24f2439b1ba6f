"""The default backbone: a small CNN over log-mel frames that keeps every frame.

Beats need frame accuracy (20 ms at 50 fps), so nothing here pools or strides in time: the 2D
blocks pool frequency only, and temporal context comes from dilated 1D convolutions instead.
"""

from __future__ import annotations

from torch import Tensor, nn

from edm.errors import ModelError
from edm.models.config import ModelConfig


class FrequencyPoolingBlock(nn.Module):
    """3x3 conv over (mel, time), then max-pool along mel only."""

    def __init__(self, in_channels: int, out_channels: int, freq_pool: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.GELU(),
            nn.MaxPool2d(kernel_size=(freq_pool, 1)),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class DilatedResidualBlock(nn.Module):
    """A dilated temporal conv with a residual path, so deep stacks still train quickly."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(channels, channels, kernel_size=3, dilation=dilation, padding=dilation),
            nn.BatchNorm1d(channels),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv1d(channels, channels, kernel_size=1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.layers(x)


class CnnBackbone(nn.Module):
    """``(B, n_mels, T)`` log-mel → ``(B, hidden_size, T)`` features, same T."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.n_mels = config.n_mels
        self.output_size = config.hidden_size
        # Log-mel levels depend on the feature pipeline (dB reference, log offset): learning
        # per-band statistics makes the model indifferent to them.
        self.input_norm = nn.BatchNorm1d(config.n_mels)
        blocks: list[nn.Module] = []
        in_channels = 1
        for out_channels, pool in zip(config.conv_channels, config.freq_pooling, strict=True):
            blocks.append(FrequencyPoolingBlock(in_channels, out_channels, pool, config.dropout))
            in_channels = out_channels
        self.frontend = nn.Sequential(*blocks)
        self.project = nn.Conv1d(in_channels * config.pooled_mel_bins, config.hidden_size, 1)
        self.temporal = nn.Sequential(
            *(
                DilatedResidualBlock(config.hidden_size, dilation, config.dropout)
                for dilation in config.temporal_dilations
            )
        )

    def forward(self, mel: Tensor) -> Tensor:
        if mel.dim() != 3 or mel.shape[1] != self.n_mels:
            raise ModelError(
                f"cnn backbone expects log-mel of shape (batch, {self.n_mels}, frames), "
                f"got {tuple(mel.shape)}"
            )
        x = self.input_norm(mel).unsqueeze(1)  # (B, 1, mels, T)
        x = self.frontend(x)  # (B, C, mels', T)
        x = x.flatten(1, 2)  # (B, C * mels', T)
        return self.temporal(self.project(x))

    def architecture(self) -> None:
        """Nothing beyond the ModelConfig is needed to rebuild this backbone."""
        return None
