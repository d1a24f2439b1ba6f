"""A checkpoint's network, on the engine that runs it fastest where it runs.

``engine="auto"`` (the default) runs the cnn on the CPU with ONNX Runtime and everything else
(MERT, a GPU) with PyTorch. A registered version carries its graph, exported and checked at
registration, beside its checkpoint (``<stem>-<sha256 prefix>.onnx`` and ``.json``): serving
hosts load it as it is. Otherwise (a version registered before, a local checkpoint) the graph
is exported once per checkpoint *content* and kept beside the checkpoint, in
``.edm-onnx/<stem>-<sha256 prefix>.onnx`` with the checkpoint's metadata in a ``.json`` of the
same name: later loads read those two files and never import torch. A changed checkpoint has
another hash, so a stale export is never used; one that cannot be written (a read-only folder)
is used from memory. When onnxruntime cannot run the model
(not installed, an export that does not match torch), ``auto`` falls back to PyTorch.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from edm.atomic import atomic_write
from edm.decoding.learned_labels import CHECKPOINT_KEY as LABELLER_KEY
from edm.errors import CheckpointError, CheckpointNotFoundError, ConfigError, EdmError
from edm.file_hash import file_sha256
from edm.inference.network import Network
from edm.models.config import ModelConfig

Engine = Literal["auto", "onnx", "torch"]
ENGINES: tuple[str, ...] = ("auto", "onnx", "torch")
CACHE_FOLDER = ".edm-onnx"
# Bump when the exported graph changes meaning (its inputs, outputs or their order).
ONNX_FORMAT = 1
_HASH_PREFIX = 16
_METADATA = ("model_config", "feature_params", "labels", "epoch")
# Kept with the metadata when the checkpoint has it: the section labeller fitted on this
# network's label probabilities (edm.decoding.learned_labels) goes wherever the network goes.
_OPTIONAL_METADATA = (LABELLER_KEY,)
_STALE = re.compile(rf".+-[0-9a-f]{{{_HASH_PREFIX}}}\.(onnx|json)")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedNetwork:
    network: Network
    checkpoint: dict[str, Any]  # the checkpoint's metadata: model_config, feature_params, ...


def load_network(path: Path, *, device: str = "cpu", engine: Engine = "auto") -> LoadedNetwork:
    """The network of the checkpoint at ``path`` (CheckpointError names a bad one)."""
    if engine not in ENGINES:
        raise ConfigError(f"unknown inference engine '{engine}' (choose from {', '.join(ENGINES)})")
    on_cpu = device == "cpu"
    if engine == "onnx" and not on_cpu:
        raise ConfigError(f"the onnx engine runs on the CPU only, not on '{device}'")
    if engine == "torch" or not on_cpu:
        return _torch(path, device)
    try:
        return _onnx(Path(path))
    except (ImportError, EdmError) as exc:
        if engine == "onnx" or isinstance(exc, CheckpointError):
            raise
        log.info("%s: running with PyTorch (%s)", path, exc)
        return _torch(path, device)


def _onnx(path: Path) -> LoadedNetwork:
    digest = _sha256(path)
    # The export registered with the version (beside its checkpoint, made and checked once at
    # registration), else one kept from an earlier load; else export now (older versions).
    for graph_file, metadata_file in (_registered_files(path, digest), _cache_files(path, digest)):
        loaded = _load_kept(path, graph_file, metadata_file, digest)
        if loaded is not None:
            return loaded
    return _export(path, digest, *_cache_files(path, digest))


def _load_kept(
    path: Path, graph_file: Path, metadata_file: Path, digest: str
) -> LoadedNetwork | None:
    from edm.inference.onnx_network import OnnxNetwork

    metadata = _read_metadata(metadata_file, digest)
    if metadata is None or not graph_file.is_file():
        return None
    try:
        network = OnnxNetwork(
            graph_file,
            ModelConfig.from_dict(metadata["model_config"]),
            tuple(metadata["labels"]),
        )
    except Exception as exc:  # a damaged kept export (onnxruntime's own error types)
        log.info("%s: kept ONNX export unreadable, exporting again (%s)", path, exc)
        return None
    return LoadedNetwork(network, _metadata_of(metadata))


def kept_export(path: Path) -> tuple[Path, Path] | None:
    """The checked ONNX export of the cnn checkpoint at ``path`` as kept beside it (graph,
    metadata), exporting it now if needed; None when it cannot be kept (a read-only folder).
    ModelError for a backbone with no ONNX export or an export that differs from torch."""
    digest = _sha256(path)
    files = _cache_files(path, digest)
    if _load_kept(path, *files, digest) is None:
        _export(path, digest, *files)
    return files if all(file.is_file() for file in files) else None


def _export(path: Path, digest: str, graph_file: Path, metadata_file: Path) -> LoadedNetwork:
    from edm.inference.onnx_export import export_onnx
    from edm.inference.onnx_network import OnnxNetwork
    from edm.models import load_model

    model, checkpoint = load_model(path, map_location="cpu")
    graph = export_onnx(model)
    metadata = _metadata_of(checkpoint)
    try:
        graph_file.parent.mkdir(exist_ok=True)
        for stale in graph_file.parent.iterdir():  # exports of this file's older contents
            if _STALE.fullmatch(stale.name) and stale.name.startswith(f"{path.stem}-"):
                stale.unlink(missing_ok=True)
        with atomic_write(graph_file, "wb") as handle:
            handle.write(graph)
        document = {"format": ONNX_FORMAT, "checkpoint_sha256": digest, **metadata}
        with atomic_write(metadata_file, "w") as handle:
            handle.write(json.dumps(document, indent=1) + "\n")
    except OSError as exc:  # a read-only folder: the export still serves, from memory
        log.info("%s: ONNX export not kept (%s)", path, exc.strerror or exc)
    network = OnnxNetwork(graph, model.config, tuple(model.labels))
    return LoadedNetwork(network, metadata)


def _torch(path: Path, device: str) -> LoadedNetwork:
    from edm.inference.torch_network import TorchNetwork
    from edm.models import load_model
    from edm.models.device import resolve_device

    target = resolve_device(device)
    model, checkpoint = load_model(path, map_location=target)
    return LoadedNetwork(TorchNetwork(model, target), _metadata_of(checkpoint))


def _metadata_of(contents: dict[str, Any]) -> dict[str, Any]:
    """What a loaded network keeps of its checkpoint (or of a kept export's metadata)."""
    kept = {key: contents[key] for key in _METADATA}
    return kept | {key: contents[key] for key in _OPTIONAL_METADATA if key in contents}


def _registered_files(path: Path, digest: str) -> tuple[Path, Path]:
    stem = f"{path.stem}-{digest[:_HASH_PREFIX]}"
    return path.parent / f"{stem}.onnx", path.parent / f"{stem}.json"


def _cache_files(path: Path, digest: str) -> tuple[Path, Path]:
    stem = f"{path.stem}-{digest[:_HASH_PREFIX]}"
    folder = path.parent / CACHE_FOLDER
    return folder / f"{stem}.onnx", folder / f"{stem}.json"


def _read_metadata(metadata_file: Path, digest: str) -> dict[str, Any] | None:
    try:
        document = json.loads(metadata_file.read_text())
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(document, dict) or document.get("format") != ONNX_FORMAT:
        return None
    if document.get("checkpoint_sha256") != digest or not all(k in document for k in _METADATA):
        return None
    return document


def _sha256(path: Path) -> str:
    try:
        return file_sha256(path)
    except FileNotFoundError:
        raise CheckpointNotFoundError(str(path)) from None
