"""TrainingConfig: every knob of a training run, validated, and logged with the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edm.errors import ConfigError
from edm.training.augment_settings import AugmentSettings

SCHEDULERS = ("cosine", "onecycle", "none")


class TrainingConfig(BaseModel):
    """Hyper-parameters and run options. Invalid values raise ConfigError naming the field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    backbone: str = "cnn"
    num_epochs: int = Field(20, ge=1)
    batch_size: int = Field(8, ge=1)
    learning_rate: float = Field(1e-3, gt=0)
    scheduler: Literal["cosine", "onecycle", "none"] = "cosine"
    warmup_epochs: float = Field(1.0, ge=0)
    weight_decay: float = Field(1e-2, ge=0)
    gradient_clip: float | None = Field(1.0, gt=0)
    seed: int = 0
    device: str = "auto"
    mixed_precision: bool | None = None  # None: on when training on CUDA
    early_stopping_patience: int | None = Field(None, ge=1)
    early_stopping_min_delta: float = Field(0.0, ge=0)  # smaller gains count as no improvement
    crop_seconds: float = Field(12.0, gt=0)
    # Augmentation of the cached log-mel crops (edm.training.augment); 0 turns one kind off.
    augment: bool = True
    augment_probability: float = Field(0.5, ge=0, le=1)  # per kind, per crop
    augment_gain_db: float = Field(6.0, ge=0, le=40)
    augment_filter_db: float = Field(9.0, ge=0, le=40)
    augment_pitch_semitones: float = Field(2.0, ge=0, le=12)
    augment_noise_db: float = Field(-20.0, le=0)  # noise floor vs the crop; <= -120 off
    augment_stretch: float = Field(0.12, ge=0, lt=0.5)  # rates 1 +- this, targets moved
    augment_freq_masks: int = Field(2, ge=0, le=10)
    augment_time_masks: int = Field(0, ge=0, le=10)
    val_fraction: float = Field(0.2, gt=0, lt=1)
    # Which annotated tracks to train on: tier N or better (1 is best), confidence >= X.
    min_tier: int | None = Field(None, ge=1, le=3)
    min_confidence: float | None = Field(None, ge=0, le=1)
    num_workers: int = Field(0, ge=0)
    output_dir: Path = Path("outputs")
    run_name: str | None = None
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    data_dir: Path | None = None
    resume: Path | None = None

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if value != "auto" and value.split(":")[0] not in ("cpu", "cuda", "mps"):
            raise ValueError(f"'{value}' is not auto, cpu, cuda, cuda:N or mps")
        return value

    @field_validator("run_name")
    @classmethod
    def _plain_run_name(cls, value: str | None) -> str | None:
        # The run's checkpoints go to output_dir/run_name: a name must stay inside output_dir.
        if value is None:
            return value
        if not value.strip() or value.strip(".") == "" or any(c in value for c in "/\\\0"):
            raise ValueError(
                f"'{value}' is not a plain name (no '/', '\\', '..' or empty name): "
                "checkpoints go to OUTPUT/RUN_NAME"
            )
        return value

    @classmethod
    def create(cls, **values: Any) -> TrainingConfig:
        """Build from keyword values; a bad value is a ConfigError naming its field."""
        try:
            return cls(**values)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "config"
            problem = first["msg"].removeprefix("Value error, ")
            raise ConfigError(f"training config field '{where}': {problem}") from None

    def to_params(self) -> dict[str, Any]:
        """The spec's logged parameters plus the rest of the knobs that change the result."""
        keys = (
            "backbone", "num_epochs", "learning_rate", "scheduler", "weight_decay",
            "gradient_clip", "batch_size", "warmup_epochs", "seed", "early_stopping_patience",
            "crop_seconds", "val_fraction", "min_tier", "min_confidence", "augment",
        )  # fmt: skip
        params = {k: getattr(self, k) for k in keys}
        if self.augment:
            params |= {k: getattr(self, k) for k in AUGMENT_FIELDS}
        return params

    def augment_settings(self) -> AugmentSettings | None:
        """What ``edm.training.augment`` applies; None when augmentation is off."""
        if not self.augment:
            return None
        settings = AugmentSettings(
            **{name.removeprefix("augment_"): getattr(self, name) for name in AUGMENT_FIELDS}
        )
        return settings if settings.enabled else None


AUGMENT_FIELDS = (
    "augment_probability", "augment_gain_db", "augment_filter_db", "augment_pitch_semitones",
    "augment_noise_db", "augment_stretch", "augment_freq_masks", "augment_time_masks",
)  # fmt: skip
