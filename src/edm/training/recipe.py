"""The reference recipe: what data ``make reference-model`` synthesizes and how it trains.

One place for the numbers, so that the reference model, the leave-one-family-out evaluation
(``scripts/lofo.py``) and the README's recipe section describe the same thing. ``QUICK`` is a
tiny version of it for smoke tests: it runs end to end in seconds and proves nothing about
quality.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from edm.training.config import TrainingConfig


@dataclass(frozen=True)
class Recipe:
    train_tracks: int = 128
    test_tracks: int = 16  # a held-out set from the training distribution (another seed)
    min_seconds: float = 60.0
    max_seconds: float = 100.0
    min_bpm: int = 110  # wider than the generator's default: keeps 174 BPM drum & bass
    max_bpm: int = 180
    epochs: int = 12
    batch_size: int = 8
    crops_per_track: int = 4
    crop_seconds: float = 12.0
    learning_rate: float = 1e-3
    augment: bool = True
    model_options: dict[str, Any] = field(default_factory=dict)
    train_seed: int = 0
    test_seed: int = 1
    # The training's own seed (split, initial weights, crop order); None: train_seed. LOFO
    # trains the same data under several to tell a change from the spread between trainings.
    training_seed: int | None = None

    def synth_config(
        self,
        sound_families: tuple[str, ...] | None = None,
        arrangement_families: tuple[str, ...] | None = None,
    ) -> Any:
        """The generator's settings; None families: all of them."""
        from edm.synth import SynthConfig

        families: dict[str, Any] = {}
        if sound_families is not None:
            families["sound_families"] = tuple(sound_families)
        if arrangement_families is not None:
            families["arrangement_families"] = tuple(arrangement_families)
        return SynthConfig(
            min_seconds=self.min_seconds,
            max_seconds=self.max_seconds,
            min_bpm=self.min_bpm,
            max_bpm=self.max_bpm,
            **families,
        )

    def training_config(
        self, output_dir: Path, run_name: str, *, device: str = "auto", **extra: Any
    ) -> TrainingConfig:
        return TrainingConfig.create(
            num_epochs=self.epochs,
            batch_size=self.batch_size,
            crop_seconds=self.crop_seconds,
            learning_rate=self.learning_rate,
            augment=self.augment,
            seed=self.train_seed if self.training_seed is None else self.training_seed,
            output_dir=output_dir,
            run_name=run_name,
            device=device,
            **extra,
        )

    def with_changes(self, **changes: Any) -> Recipe:
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REFERENCE = Recipe()

QUICK = Recipe(
    train_tracks=4,
    test_tracks=1,
    min_seconds=30.0,
    max_seconds=36.0,
    epochs=1,
    crops_per_track=1,
    crop_seconds=6.0,
    model_options={"hidden_size": 16, "conv_channels": (4, 8, 8)},
)
