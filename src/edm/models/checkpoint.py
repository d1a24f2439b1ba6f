"""The checkpoint file: save atomically, load safely, rebuild the model from what it stores.

A checkpoint is a ``torch.save`` of a dict holding tensors and plain types only, so it loads
with ``weights_only=True`` (no code runs while reading it):

    format              "edm-multitask-checkpoint"
    format_version      int, FORMAT_VERSION when written
    model_config        ModelConfig.to_dict()
    backbone_architecture  transformers config dict of a MERT encoder, None for cnn
    feature_params      how the inputs were computed (sample rate, n_mels, hop, ...)
    labels              the label vocabulary, in head order
    state_dict          the model's weights
    optimizer_state     optional, to resume training
    scheduler_state     optional
    epoch               int or None
    metrics             dict of plain values
    extra               dict of plain values, the caller's own
    edm_version, torch_version, created_at (ISO 8601, UTC)

The model is rebuilt from ``model_config`` and ``backbone_architecture`` alone: inference needs
neither training code nor pretrained MERT weights.
"""

from __future__ import annotations

import datetime as dt
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

import edm
from edm.atomic import atomic_write
from edm.errors import (
    CheckpointError,
    CheckpointNotFoundError,
    ModelError,
    WeightsNotFoundError,
    interrupt_behind,
)
from edm.models.config import ModelConfig
from edm.models.multitask import MultiTaskModel, build_model

CHECKPOINT_FORMAT = "edm-multitask-checkpoint"
FORMAT_VERSION = 1
REQUIRED_KEYS: tuple[str, ...] = (
    "format",
    "format_version",
    "model_config",
    "backbone_architecture",
    "feature_params",
    "labels",
    "state_dict",
)

_PLAIN_SCALARS = (str, int, float, bool, type(None))
# Besides plain types, what torch's weights_only unpickler reads back (optimizer states hold
# dtypes and devices; torch.Size appears in some scheduler states).
_TORCH_VALUES = (torch.Tensor, torch.Size, torch.dtype, torch.device)


def save_checkpoint(
    path: str | os.PathLike[str],
    model: MultiTaskModel,
    model_config: ModelConfig | Mapping[str, Any] | None = None,
    *,
    feature_params: Mapping[str, Any],
    extra: Mapping[str, Any] | None = None,
    optimizer_state: Mapping[str, Any] | None = None,
    scheduler_state: Mapping[str, Any] | None = None,
    epoch: int | None = None,
    metrics: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``path`` atomically and return the path.

    ``model_config`` (a ``ModelConfig`` or its dict) defaults to ``model.config`` and must
    describe ``model``: a checkpoint whose config does not fit its weights could never be
    loaded. The file appears complete or not at all (``edm.atomic``), with the mode the
    umask asks for, so a teammate can read it in a shared artifact store.
    Values that would need pickled code to read back (numpy arrays, arbitrary objects) raise
    ``CheckpointError`` before anything is written; numpy scalars and paths become plain values.
    """
    target = Path(path)
    config = _config_of(model, model_config, target)
    contents = {
        "format": CHECKPOINT_FORMAT,
        "format_version": FORMAT_VERSION,
        "model_config": config.to_dict(),
        "backbone_architecture": model.backbone_architecture(),
        "feature_params": dict(feature_params),
        "labels": list(config.labels),
        "optimizer_state": optimizer_state,
        "scheduler_state": scheduler_state,
        "epoch": epoch,
        "metrics": dict(metrics or {}),
        "extra": dict(extra or {}),
        "edm_version": edm.__version__,
        "torch_version": torch.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }
    plain = to_plain(contents, where=str(target))
    # Kept as returned: its OrderedDict metadata (module versions) matters to load_state_dict.
    plain["state_dict"] = model.state_dict()
    _torch_save(target, plain)
    return target


def add_to_checkpoint(path: str | os.PathLike[str], key: str, value: Any) -> Path:
    """Store ``value`` (plain types) under ``key`` in the checkpoint at ``path``, atomically:
    the file holds the old contents or the new, never a mix."""
    target = Path(path)
    contents = load_checkpoint(target)
    contents[key] = to_plain(value, where=f"{target}:{key}")
    _torch_save(target, contents)
    return target


def _config_of(
    model: MultiTaskModel, given: ModelConfig | Mapping[str, Any] | None, target: Path
) -> ModelConfig:
    if given is None:
        return model.config
    config = given if isinstance(given, ModelConfig) else ModelConfig.from_dict(given)
    if config != model.config:
        raise CheckpointError(
            f"cannot write checkpoint {target}: model_config does not describe the model "
            f"(given {config.to_dict()}, model has {model.config.to_dict()})"
        )
    return config


def _torch_save(target: Path, contents: Any) -> None:
    """``torch.save`` through ``atomic_write``: never a half file, mode as the umask asks."""
    if not target.parent.is_dir():
        raise CheckpointError(f"cannot write checkpoint {target}: folder {target.parent} missing")
    try:
        with atomic_write(target) as stream:
            torch.save(contents, stream)
    except Exception as error:
        if (interrupt := interrupt_behind(error)) is not None:
            raise interrupt from None
        # torch reports a failed write (disk full, quota) as RuntimeError from its zip writer.
        raise CheckpointError(f"cannot write checkpoint {target}: {_one_line(error)}") from error


def to_plain(value: Any, where: str) -> Any:
    """``value`` with only types the weights_only loader reads back, or ``CheckpointError``.

    ``where`` names the place in the checkpoint for the error message.
    """
    if isinstance(value, bool):
        return bool(value)
    # Subclasses of int/float/str (numpy.float64, str enums) pickle as their own class, which
    # weights_only loading refuses: store the base type.
    for base in (int, float, str):
        if isinstance(value, base):
            return base(value)
    if value is None or isinstance(value, _TORCH_VALUES):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0:
        return value.item()  # a numpy scalar
    if isinstance(value, Mapping):
        plain_dict = {}
        for key, item in value.items():
            if not isinstance(key, _PLAIN_SCALARS):
                raise CheckpointError(f"{where}: key {key!r} is not a str, int, float or bool")
            plain_dict[to_plain(key, where)] = to_plain(item, f"{where}[{key!r}]")
        return plain_dict
    if isinstance(value, list | tuple):
        items = [to_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
        return items if isinstance(value, list) else tuple(items)
    raise CheckpointError(
        f"{where}: a {type(value).__module__}.{type(value).__qualname__} cannot be stored in a "
        f"checkpoint; use tensors, dicts, lists, str, int, float, bool or None"
    )


def load_checkpoint(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """Read and check a checkpoint; any problem raises ``CheckpointError`` naming the file."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointNotFoundError(source)
    try:
        contents = torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only" in str(error).lower() or "weights_only" in str(error):
            raise CheckpointError(
                f"{source}: refused: it holds objects other than tensors and plain types, which "
                f"would run code when loaded (not an edm checkpoint, or a tampered one)"
            ) from error
        raise CheckpointError(f"{source}: corrupt checkpoint: {_first_line(error)}") from error
    except Exception as error:  # torch reports truncation as RuntimeError, EOFError, ...
        raise CheckpointError(
            f"{source}: corrupt or truncated checkpoint: {_first_line(error)}"
        ) from error
    _check_compatible(source, contents)
    return contents


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _one_line(error: BaseException, limit: int = 400) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_compatible(source: Path, contents: Any) -> None:
    if not isinstance(contents, dict) or contents.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{source}: not an edm checkpoint (no '{CHECKPOINT_FORMAT}' format)")
    version = contents.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise CheckpointError(f"{source}: invalid checkpoint format_version {version!r}")
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{source}: checkpoint format version {version} is newer than this edm reads "
            f"({FORMAT_VERSION}); upgrade edm"
        )
    missing = [key for key in REQUIRED_KEYS if key not in contents]
    if missing:
        raise CheckpointError(f"{source}: incompatible checkpoint: missing {', '.join(missing)}")


def load_model(
    path: str | os.PathLike[str], map_location: str | torch.device = "cpu"
) -> tuple[MultiTaskModel, dict[str, Any]]:
    """The model stored in ``path``, in eval mode, and the whole checkpoint dict."""
    contents = load_checkpoint(path, map_location=map_location)
    try:
        config = ModelConfig.from_dict(contents["model_config"])
        model = build_model(config, backbone_architecture=contents["backbone_architecture"])
    except CheckpointError:
        raise
    except WeightsNotFoundError as error:
        raise WeightsNotFoundError(f"{path}: {error}") from error
    except ModelError as error:
        raise CheckpointError(f"{path}: cannot rebuild the model: {error}") from error
    _load_weights(Path(path), model, contents["state_dict"])
    model.to(map_location)
    model.eval()
    return model, contents


def _load_weights(source: Path, model: nn.Module, state_dict: Mapping[str, Any]) -> None:
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"{source}: weights do not fit the model in the checkpoint's config: {_one_line(error)}"
        ) from error
