"""Run a model over a long input in overlapping windows and stitch the outputs.

A window is the part whose outputs are kept (its *core*) plus ``context`` frames of input on
either side. The cnn sees a bounded neighbourhood (its receptive field), so with at least that
much context the stitched outputs equal one pass over the whole track, while memory stays that
of one window however long the file. For models with global attention (MERT) the context gives
every kept frame some surroundings; the model was not trained on the input's edges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from edm.inference.network import Network
from edm.models.config import ModelConfig

ProgressCallback = Callable[[int, int], None]
"""Called with (windows done, windows in all) after each window."""

# Context for backbones with no bounded receptive field (MERT attends to its whole input).
DEFAULT_CONTEXT_SECONDS = 5.0


@dataclass(frozen=True)
class Window:
    core_start: int  # frames
    core_end: int
    input_start: int  # frames, core minus context, clipped to the track
    input_end: int


def receptive_radius_frames(config: ModelConfig) -> int | None:
    """Frames either side that can change a cnn output; None for a backbone without a bound."""
    if config.backbone != "cnn":
        return None
    # Each 3x3 conv block widens the view by one frame per side; each dilated temporal conv
    # (kernel 3) by its dilation.
    return len(config.conv_channels) + sum(config.temporal_dilations)


def plan_windows(n_frames: int, core_frames: int, context_frames: int) -> list[Window]:
    """Cores that tile ``[0, n_frames)``, each with up to ``context_frames`` either side."""
    if n_frames < 1:
        return []
    core_frames = max(1, core_frames)
    windows = []
    for start in range(0, n_frames, core_frames):
        end = min(start + core_frames, n_frames)
        windows.append(
            Window(start, end, max(0, start - context_frames), min(n_frames, end + context_frames))
        )
    return windows


def predict_in_windows(
    network: Network,
    inputs: np.ndarray,
    n_frames: int,
    *,
    core_frames: int,
    context_frames: int,
    samples_per_frame: float | None = None,
    on_progress: ProgressCallback | None = None,
) -> dict[str, np.ndarray]:
    """Activations (probabilities) of ``network`` for a whole track, ``n_frames`` long.

    ``inputs`` is log-mel ``(n_mels, n_frames)``, or with ``samples_per_frame`` a mono waveform
    whose frame ``i`` starts at sample ``i * samples_per_frame``.
    """
    windows = plan_windows(n_frames, core_frames, context_frames)
    pieces: dict[str, list[np.ndarray]] = {}
    for done, (window, chunk) in enumerate(_chunks(inputs, windows, samples_per_frame), start=1):
        length = window.input_end - window.input_start
        outputs = network(chunk[None], length)
        keep = slice(window.core_start - window.input_start, window.core_end - window.input_start)
        for task, values in outputs.items():
            pieces.setdefault(task, []).append(values[0, ..., keep])
        if on_progress is not None:
            on_progress(done, len(windows))
    return {task: np.concatenate(parts, axis=-1) for task, parts in pieces.items()}


def _chunks(
    inputs: np.ndarray, windows: list[Window], samples_per_frame: float | None
) -> Iterator[tuple[Window, np.ndarray]]:
    for window in windows:
        if samples_per_frame is None:
            yield window, inputs[:, window.input_start : window.input_end]
        else:
            first = round(window.input_start * samples_per_frame)
            last = round(window.input_end * samples_per_frame)
            yield window, inputs[first:last]
