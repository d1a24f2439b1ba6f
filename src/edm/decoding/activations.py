"""What the model says about every frame of a track, as probabilities in plain numpy arrays.

The decoder works on this and nothing else, so it can be tested on hand-made activations and
does not need torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edm.errors import ModelError
from edm.vocabulary import ENERGY_BANDS, LABELS, UNLABELED


@dataclass(frozen=True, eq=False)
class FrameActivations:
    """Per-frame probabilities at ``frame_rate`` frames per second; frame ``i`` is at ``i / fps``.

    ``beat``, ``downbeat``, ``boundary``: ``(T,)`` in 0..1; ``energy``: ``(3, T)``, one row per
    band of ``ENERGY_BANDS`` (low/mid/high) in 0..1; ``label``: ``(n_labels, T)``, a
    distribution over ``labels`` per frame. ``features``: optionally the model's input features
    ``(n_features, T)`` (log-mel), which the decoder reads for spectral and harmonic change at
    bar lines; None when the model took raw audio or the caller did not pass them.
    """

    frame_rate: float
    beat: np.ndarray
    downbeat: np.ndarray
    boundary: np.ndarray
    energy: np.ndarray
    label: np.ndarray
    labels: tuple[str, ...] = LABELS
    features: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.beat.shape[-1]
        shapes = {
            "beat": (self.beat.shape, (n,)),
            "downbeat": (self.downbeat.shape, (n,)),
            "boundary": (self.boundary.shape, (n,)),
            "energy": (self.energy.shape, (len(ENERGY_BANDS), n)),
            "label": (self.label.shape, (len(self.labels), n)),
        }
        if self.features is not None:
            shapes["features"] = (self.features.shape[-1:], (n,))
        for name, (got, want) in shapes.items():
            if got != want:
                raise ModelError(f"activation '{name}' has shape {got}, expected {want}")
        if self.frame_rate <= 0:
            raise ModelError(f"frame_rate must be positive, got {self.frame_rate}")

    @property
    def n_frames(self) -> int:
        return int(self.beat.shape[0])

    @property
    def duration(self) -> float:
        """Seconds covered: the last frame's time plus one frame."""
        return self.n_frames / self.frame_rate

    @property
    def unlabeled_index(self) -> int | None:
        """Row of the 'unlabeled' class (frames before the music starts), if the model has one."""
        name = LABELS[UNLABELED]
        return self.labels.index(name) if name in self.labels else None
