"""MERT backbones (m-a-p/MERT-v1-95M, -330M) through Hugging Face ``transformers``.

Weights are only ever read from local disk: ``backbone_path``, else ``EDM_MERT_PATH``, else the
local Hugging Face cache. ``transformers`` is imported inside the functions that need it, so
``import edm.models`` stays fast for the cnn backbone and for the CLI.

A trained edm checkpoint holds the encoder's full ``state_dict`` and its transformers config, so
``encoder_from_architecture`` rebuilds the encoder without the pretrained weights. MERT's hub
checkpoints are HuBERT with remote code (``MERTModel`` subclasses ``HubertModel``); when the
config uses none of MERT's extras (CQT features, DeepNorm, attention relaxation) the encoder is
exactly a ``HubertModel`` and is rebuilt as one, so loading a checkpoint executes no downloaded
code.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from edm.errors import ModelError, WeightsNotFoundError
from edm.models.config import BackboneSpec, ModelConfig, backbone_spec
from edm.vocabulary import MERT_SAMPLE_RATE

log = logging.getLogger(__name__)

ENV_MERT_PATH = "EDM_MERT_PATH"
_MERT_MODEL_TYPE = "mert_model"
# Wav2Vec2FeatureExtractor's epsilon, so normalised input matches what MERT was trained on.
_NORMALIZE_EPS = 1e-7


def weights_source(spec: BackboneSpec, backbone_path: str | None) -> str:
    """The directory or hub id to load from: backbone_path, else EDM_MERT_PATH, else the hub id."""
    path = backbone_path or os.environ.get(ENV_MERT_PATH)
    if path:
        if not (Path(path) / "config.json").is_file():
            raise WeightsNotFoundError(_missing_weights_message(spec, path))
        return path
    assert spec.hub_id is not None  # every audio backbone has one
    return spec.hub_id


def _missing_weights_message(spec: BackboneSpec, path: str | None) -> str:
    if path:
        return (
            f"MERT weights for '{spec.name}' ({spec.hub_id}) not found in {path} "
            f"(backbone_path or {ENV_MERT_PATH}): it must be a Hugging Face model directory "
            f"with config.json and the weights; fill it on a machine with internet access with "
            f"`hf download {spec.hub_id} --local-dir {path}`"
        )
    return (
        f"MERT weights for '{spec.name}' ({spec.hub_id}) not found in the local Hugging Face "
        f"cache or {ENV_MERT_PATH}: download them on a machine with internet access with "
        f"`hf download {spec.hub_id}` and copy the cache, or set {ENV_MERT_PATH} to a local "
        f"directory holding them"
    )


def load_pretrained_encoder(spec: BackboneSpec, backbone_path: str | None) -> nn.Module:
    """The pretrained encoder from local files only; never touches the network."""
    source = weights_source(spec, backbone_path)
    from transformers import AutoModel

    try:
        # MERT's hub checkpoints ship their model class as remote code; a plain HuBERT
        # directory loads the same way.
        encoder = AutoModel.from_pretrained(source, local_files_only=True, trust_remote_code=True)
    except OSError as error:
        raise _weights_not_found(spec, source) from error
    except Exception as error:  # remote code that fails to import or run on this transformers
        encoder = _load_as_hubert(spec, source, error)
    _warn_on_unexpected_size(spec, source, encoder.config.hidden_size)
    return encoder


def _weights_not_found(spec: BackboneSpec, source: str) -> WeightsNotFoundError:
    explicit_path = source if source != spec.hub_id else None
    return WeightsNotFoundError(_missing_weights_message(spec, explicit_path))


def _load_as_hubert(spec: BackboneSpec, source: str, remote_error: Exception) -> nn.Module:
    """MERT's weights in a plain HubertModel, when MERT's own code cannot be used.

    MERT's remote code is written against the transformers of its day and needs packages
    (nnAudio) that its v1 models never use; for configs without MERT's extras the encoder is a
    HubertModel, so the weights load into one unchanged.
    """
    from transformers import HubertConfig, HubertModel, PretrainedConfig

    try:
        architecture, _ = PretrainedConfig.get_config_dict(source, local_files_only=True)
    except OSError as error:
        raise _weights_not_found(spec, source) from error
    if not is_hubert_compatible(architecture) and architecture.get("model_type") != "hubert":
        raise ModelError(
            f"cannot load MERT backbone '{spec.name}' from {source}: its code failed "
            f"({type(remote_error).__name__}: {remote_error}) and its config is not plain HuBERT"
        ) from remote_error
    log.warning(
        "MERT code from %s failed (%s: %s); loading its weights as a HubertModel",
        source,
        type(remote_error).__name__,
        remote_error,
    )
    config = HubertConfig.from_dict(architecture)
    try:
        return HubertModel.from_pretrained(source, config=config, local_files_only=True)
    except OSError as error:
        raise _weights_not_found(spec, source) from error
    except Exception as error:  # e.g. a corrupt weights file: the first failure was not the code
        raise ModelError(
            f"cannot load MERT backbone '{spec.name}' from {source}: {error} "
            f"(and with MERT's own code: {type(remote_error).__name__}: {remote_error})"
        ) from error


def _warn_on_unexpected_size(spec: BackboneSpec, source: str, hidden_size: int) -> None:
    # EDM_MERT_PATH serves every MERT size: catch it pointing at the wrong one.
    if spec.hidden_size is not None and hidden_size != spec.hidden_size:
        log.warning(
            "backbone '%s' expects hidden size %d but %s has %d; using the weights as found",
            spec.name,
            spec.hidden_size,
            source,
            hidden_size,
        )


def encoder_architecture(encoder: nn.Module) -> dict[str, Any]:
    """The encoder's full transformers config as plain JSON types, for checkpoints."""
    # use_diff=False: a diff against class defaults would break if those defaults change.
    result: dict[str, Any] = json.loads(encoder.config.to_json_string(use_diff=False))
    return result


def is_hubert_compatible(architecture: dict[str, Any]) -> bool:
    """Whether a MERT config describes exactly a HubertModel (same modules and forward)."""
    return (
        architecture.get("model_type") == _MERT_MODEL_TYPE
        and not architecture.get("feature_extractor_cqt", False)
        and not architecture.get("deepnorm", False)
        and float(architecture.get("attention_relax", -1.0)) <= 0.0
    )


def encoder_from_architecture(
    architecture: dict[str, Any], spec: BackboneSpec, backbone_path: str | None
) -> nn.Module:
    """A randomly initialised encoder of the given config, to receive a checkpoint's weights."""
    from transformers import AutoConfig, AutoModel, HubertConfig, HubertModel
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    model_type = architecture.get("model_type")
    if model_type in CONFIG_MAPPING:
        return AutoModel.from_config(CONFIG_MAPPING[model_type].from_dict(architecture))
    if is_hubert_compatible(architecture):
        return HubertModel(HubertConfig.from_dict(architecture))
    # MERT extras need MERT's own code, which lives beside its config (not its weights). The
    # stored backbone_path is the training machine's: EDM_MERT_PATH, set here, comes first.
    candidates = (os.environ.get(ENV_MERT_PATH), backbone_path)
    source = next((path for path in candidates if path and Path(path).is_dir()), spec.hub_id)
    overrides = {k: v for k, v in architecture.items() if k not in ("auto_map", "model_type")}
    try:
        config = AutoConfig.from_pretrained(
            source, local_files_only=True, trust_remote_code=True, **overrides
        )
        return AutoModel.from_config(config, trust_remote_code=True)
    except (OSError, ValueError) as error:
        raise WeightsNotFoundError(
            f"backbone '{spec.name}' uses model type '{model_type}' with MERT extras that only "
            f"MERT's own code implements, and that code (config.json and .py files; the weights "
            f"are not needed) is not in {source}: fetch it on a machine with internet access "
            f"with `hf download {spec.hub_id} --include '*.json' '*.py'` and set "
            f"{ENV_MERT_PATH} to that directory"
        ) from error
    except Exception as error:  # the code itself fails on this transformers
        raise ModelError(
            f"cannot build '{model_type}' from its code in {source}: {error}"
        ) from error


class MertBackbone(nn.Module):
    """``(B, samples)`` mono audio at 24 kHz → ``(B, hidden_size, T')`` at the encoder's rate.

    MERT-v1 emits 75 frames per second; ``MultiTaskModel`` resamples to the target frames.
    """

    def __init__(self, config: ModelConfig, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder
        self.frozen = config.freeze_backbone
        self.normalize_audio = config.normalize_audio
        self.output_size = config.hidden_size
        encoder_config = encoder.config
        self.layer_weights: nn.Parameter | None = None
        if config.layer_weighted_sum:
            # One weight per hidden state (the embeddings plus every layer): lower layers
            # carry more of the rhythm that beat tracking needs than the last one.
            self.layer_weights = nn.Parameter(torch.zeros(encoder_config.num_hidden_layers + 1))
        self.project = nn.Sequential(
            nn.Linear(encoder_config.hidden_size, config.hidden_size),
            nn.GELU(),
            nn.Dropout(config.dropout),
        )
        if self.frozen:
            self.encoder.requires_grad_(False)
            self.encoder.eval()

    def train(self, mode: bool = True) -> MertBackbone:
        super().train(mode)
        # A frozen encoder stays in eval mode: its dropout, layer drop and time masking would
        # only add noise to features nobody trains.
        if self.frozen:
            self.encoder.eval()
        return self

    def forward(self, audio: Tensor) -> Tensor:
        if audio.dim() == 3 and audio.shape[1] == 1:
            audio = audio.squeeze(1)
        if audio.dim() != 2:
            raise ModelError(
                "MERT backbone expects mono audio of shape (batch, samples) at "
                f"{MERT_SAMPLE_RATE} Hz, "
                f"got {tuple(audio.shape)}"
            )
        if self.normalize_audio:
            mean = audio.mean(dim=1, keepdim=True)
            var = audio.var(dim=1, keepdim=True, unbiased=False)
            audio = (audio - mean) / torch.sqrt(var + _NORMALIZE_EPS)
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            outputs = self.encoder(audio, output_hidden_states=self.layer_weights is not None)
        if self.layer_weights is None:
            hidden = outputs.last_hidden_state
        else:
            stacked = torch.stack(outputs.hidden_states, dim=0)  # (L+1, B, T', H)
            weights = torch.softmax(self.layer_weights, dim=0)
            hidden = torch.einsum("l,lbth->bth", weights, stacked)
        return self.project(hidden).transpose(1, 2)

    def architecture(self) -> dict[str, Any]:
        return encoder_architecture(self.encoder)


def build_mert_backbone(
    config: ModelConfig, architecture: dict[str, Any] | None = None
) -> MertBackbone:
    """Pretrained weights when ``architecture`` is None; else an empty encoder of that config."""
    spec = backbone_spec(config.backbone)
    if architecture is None:
        encoder = load_pretrained_encoder(spec, config.backbone_path)
    else:
        encoder = encoder_from_architecture(architecture, spec, config.backbone_path)
    return MertBackbone(config, encoder)
