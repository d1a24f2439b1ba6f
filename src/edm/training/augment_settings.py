"""How strong each training augmentation is (a light module: the config imports it)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AugmentSettings:
    """How strong each augmentation is; 0 turns that one off. ``probability`` is per kind."""

    probability: float = 0.5
    gain_db: float = 6.0  # uniform in +-gain_db
    filter_db: float = 9.0  # tilt across the spectrum and a shelf, each up to this much
    pitch_semitones: float = 2.0
    noise_db: float = -20.0  # loudest noise floor relative to the crop's mean magnitude
    stretch: float = 0.12  # rate in [1 - stretch, 1 + stretch]
    freq_masks: int = 2  # up to this many masked band ranges, each up to 8 bands wide
    time_masks: int = 0  # up to this many masked time spans, each up to 0.5 s

    @property
    def enabled(self) -> bool:
        return self.probability > 0 and any(
            (
                self.gain_db,
                self.filter_db,
                self.pitch_semitones,
                self.stretch,
                self.freq_masks,
                self.time_masks,
                self.noise_db > -120,
            )
        )
