"""The model's hyper-parameters as one value object, and the backbones edm knows.

A ``ModelConfig`` is everything needed to rebuild the ``nn.Module`` (checkpoints store its
``to_dict()``), so inference never depends on training code or on the command line that
trained the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edm.errors import ModelError
from edm.vocabulary import LABELS, MEL_SAMPLE_RATE, MERT_SAMPLE_RATE, InputKind


@dataclass(frozen=True)
class BackboneSpec:
    """What a backbone name means: its input and, for pretrained ones, where weights come from."""

    name: str
    input_kind: InputKind
    sample_rate: int
    hub_id: str | None = None
    hidden_size: int | None = None  # of the pretrained encoder; None where the config decides


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec("cnn", "mel", MEL_SAMPLE_RATE),
        BackboneSpec(
            "mert-95m", "audio", MERT_SAMPLE_RATE, hub_id="m-a-p/MERT-v1-95M", hidden_size=768
        ),
        BackboneSpec(
            "mert-330m", "audio", MERT_SAMPLE_RATE, hub_id="m-a-p/MERT-v1-330M", hidden_size=1024
        ),
    )
}


def backbone_spec(name: str) -> BackboneSpec:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ModelError(
            f"unknown backbone '{name}': valid backbones are {', '.join(BACKBONES)}"
        ) from None


@dataclass(frozen=True)
class ModelConfig:
    """Hyper-parameters of a ``MultiTaskModel``.

    ``input_kind`` and ``sample_rate`` follow from the backbone when left as None (log-mel at
    22050 Hz for ``cnn``, mono audio at 24000 Hz for MERT); giving a value that contradicts the
    backbone is an error rather than a silently mis-fed model.
    """

    backbone: str = "cnn"
    labels: tuple[str, ...] = LABELS
    n_mels: int = 80
    hidden_size: int = 96  # width of the temporal trunk and of every head's input
    dropout: float = 0.1
    # cnn: 2D conv blocks over (mel, time); each pools only frequency, by its factor.
    conv_channels: tuple[int, ...] = (16, 32, 64)
    freq_pooling: tuple[int, ...] = (4, 4, 5)
    # cnn: residual dilated 1D convs; kernel 3 with these dilations sees 1023 frames (~20 s
    # at 50 fps), about 8 bars either side at 128 BPM, enough to place section boundaries.
    temporal_dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    # MERT
    backbone_path: str | None = None
    freeze_backbone: bool = False
    layer_weighted_sum: bool = False
    normalize_audio: bool = True  # zero mean, unit variance per clip, as MERT's processor does
    input_kind: InputKind | None = None
    sample_rate: int | None = None

    def __post_init__(self) -> None:
        spec = backbone_spec(self.backbone)
        # Lists arrive from JSON/YAML and from to_dict(): store tuples so the config stays
        # hashable and equal to itself after a round trip.
        for name in ("labels", "conv_channels", "freq_pooling", "temporal_dilations"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.input_kind is None:
            object.__setattr__(self, "input_kind", spec.input_kind)
        if self.sample_rate is None:
            object.__setattr__(self, "sample_rate", spec.sample_rate)
        self._validate(spec)

    def _validate(self, spec: BackboneSpec) -> None:
        if self.input_kind != spec.input_kind:
            raise ModelError(
                f"input_kind '{self.input_kind}' does not fit backbone '{self.backbone}', "
                f"which takes '{spec.input_kind}'"
            )
        if spec.input_kind == "audio" and self.sample_rate != spec.sample_rate:
            raise ModelError(
                f"sample_rate {self.sample_rate} does not fit backbone '{self.backbone}', "
                f"which was pretrained at {spec.sample_rate} Hz"
            )
        if not self.labels or len(set(self.labels)) != len(self.labels):
            raise ModelError(f"labels must be a non-empty list of distinct names: {self.labels}")
        if self.hidden_size < 1:
            raise ModelError(f"hidden_size must be positive: {self.hidden_size}")
        if not 0.0 <= self.dropout < 1.0:
            raise ModelError(f"dropout must be in [0, 1): {self.dropout}")
        if len(self.conv_channels) != len(self.freq_pooling):
            raise ModelError(
                "conv_channels and freq_pooling need one entry per conv block: "
                f"{self.conv_channels} vs {self.freq_pooling}"
            )
        if self.backbone == "cnn" and self.pooled_mel_bins < 1:
            raise ModelError(
                f"n_mels={self.n_mels} is too few for freq_pooling {self.freq_pooling}"
            )

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    @property
    def pooled_mel_bins(self) -> int:
        """Frequency bins left after the cnn's conv blocks."""
        bins = self.n_mels
        for factor in self.freq_pooling:
            bins //= factor
        return bins

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (lists, not tuples), fit for JSON, YAML, MLflow params, checkpoints."""
        return {
            f.name: list(value) if isinstance(value, tuple) else value
            for f in dataclasses.fields(self)
            for value in (getattr(self, f.name),)
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> ModelConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ModelError(f"unknown model config field(s): {', '.join(unknown)}")
        try:
            return cls(**values)
        except TypeError as error:  # e.g. a string where a number belongs
            raise ModelError(f"invalid model config: {error}") from error

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with ``changes``; a new backbone brings its own input kind and sample rate."""
        if "backbone" in changes:
            changes.setdefault("input_kind", None)
            changes.setdefault("sample_rate", None)
        return dataclasses.replace(self, **changes)


__all__ = [
    "BACKBONES",
    "BackboneSpec",
    "ModelConfig",
    "backbone_spec",
]
