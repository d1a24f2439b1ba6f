"""The ONNX graph of a version, made and checked once at registration and logged with it.

The cnn's graph (``edm.inference.onnx_export``: exported, then checked against torch on random
inputs) becomes two artifacts of the version's MLflow model, ``<stem>-<sha256 prefix>.onnx`` and
its ``.json`` metadata, which MLflow puts beside the checkpoint: serving hosts load them as they
are (``edm.inference.engines``) and export nothing. A backbone with no ONNX export (MERT) gets
none, and a version registered before this change is exported on first load, as it was.
"""

from __future__ import annotations

import logging
from pathlib import Path

from edm.errors import EdmError

log = logging.getLogger(__name__)

ONNX_ARTIFACT = "onnx"
ONNX_METADATA_ARTIFACT = "onnx_metadata"
EXPORTED_BACKBONES = ("cnn",)


def onnx_artifacts(checkpoint: Path, backbone: str) -> dict[str, Path]:
    """The artifacts that carry ``checkpoint``'s checked ONNX graph; empty when it has none."""
    if backbone not in EXPORTED_BACKBONES:
        return {}
    from edm.inference.engines import kept_export

    try:
        files = kept_export(Path(checkpoint))
    except (ImportError, EdmError) as exc:  # the version still runs, with PyTorch
        log.warning("%s: no ONNX graph registered with the version (%s)", checkpoint, exc)
        return {}
    if files is None:
        log.warning("%s: its folder is read-only, no ONNX graph registered", checkpoint)
        return {}
    graph, metadata = files
    return {ONNX_ARTIFACT: graph, ONNX_METADATA_ARTIFACT: metadata}
