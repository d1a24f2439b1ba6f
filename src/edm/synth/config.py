"""What the generator may draw from: track length, tempo range, lead-in, sample rate, families."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from edm.errors import ConfigError
from edm.synth.families import ARRANGEMENT_FAMILIES, SOUND_FAMILIES, checked_families
from edm.vocabulary import BEATS_PER_BAR, MEL_SAMPLE_RATE

DEFAULT_MIN_SECONDS = 60.0
MIN_FORM_BARS = 9
"""The shortest form the generator shrinks to: intro, buildup (2 bars each), drop (4), outro (1)."""
MIN_TAIL_SECONDS = 0.25


@dataclass(frozen=True)
class SynthConfig:
    """``min_seconds`` and ``max_seconds`` bound every track's real length (lead-in and tail
    included); ``min_seconds`` left out is 60 s, or ``max_seconds`` when that is shorter."""

    # At the features' rate, so that training on synthetic tracks resamples nothing.
    sample_rate: int = MEL_SAMPLE_RATE
    min_seconds: float | None = None
    max_seconds: float = 100.0
    min_bpm: int = 118
    max_bpm: int = 150
    max_lead_in: float = 2.0  # silence or noise before the music; a pickup comes on top
    sound_families: Sequence[str] = field(default=SOUND_FAMILIES)
    arrangement_families: Sequence[str] = field(default=ARRANGEMENT_FAMILIES)

    def __post_init__(self) -> None:
        if self.min_seconds is None:  # asking only for short tracks brings the shortest down
            object.__setattr__(self, "min_seconds", min(DEFAULT_MIN_SECONDS, self.max_seconds))
        if not 0 < self.shortest <= self.max_seconds:
            raise ConfigError(f"track length range {self.shortest}..{self.max_seconds} s is empty")
        if not 0 < self.min_bpm <= self.max_bpm:
            raise ConfigError(f"BPM range {self.min_bpm}..{self.max_bpm} is empty")
        needed = MIN_FORM_BARS * BEATS_PER_BAR * 60.0 / self.min_bpm + MIN_TAIL_SECONDS
        if self.max_seconds < needed:
            raise ConfigError(
                f"--max-seconds {self.max_seconds} is too short for an EDM form at "
                f"{self.min_bpm} BPM (needs at least {math.ceil(needed)} s)"
            )
        if self.max_lead_in < 0:
            raise ConfigError(f"lead-in {self.max_lead_in} s is negative")
        object.__setattr__(
            self,
            "sound_families",
            checked_families("sound", self.sound_families, SOUND_FAMILIES),
        )
        object.__setattr__(
            self,
            "arrangement_families",
            checked_families("arrangement", self.arrangement_families, ARRANGEMENT_FAMILIES),
        )

    @property
    def shortest(self) -> float:
        """``min_seconds``, resolved (never None after construction)."""
        assert self.min_seconds is not None
        return self.min_seconds
