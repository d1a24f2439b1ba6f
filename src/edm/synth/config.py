"""What the generator may draw from: track length, tempo range, lead-in, sample rate."""

from __future__ import annotations

from dataclasses import dataclass

from edm.errors import ConfigError
from edm.vocabulary import MEL_SAMPLE_RATE


@dataclass(frozen=True)
class SynthConfig:
    # At the features' rate, so that training on synthetic tracks resamples nothing.
    sample_rate: int = MEL_SAMPLE_RATE
    min_seconds: float = 60.0
    max_seconds: float = 100.0
    min_bpm: int = 118
    max_bpm: int = 150
    max_lead_in: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ConfigError(
                f"track length range {self.min_seconds}..{self.max_seconds} s is empty"
            )
        if self.max_seconds < 30:
            raise ConfigError(f"--max-seconds {self.max_seconds} is too short for an EDM form")
        # The shortest form is 28 bars (45 s at 150 BPM): a tighter budget gets the form that
        # comes closest to it rather than an error.
        if not 0 < self.min_bpm <= self.max_bpm:
            raise ConfigError(f"BPM range {self.min_bpm}..{self.max_bpm} is empty")
