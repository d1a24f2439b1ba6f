"""The ONNX graph is made and checked once, at registration, and travels with the version:
a serving host loads it as registered, without torch and without exporting."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edm.file_hash import file_sha256
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow  # registers a version (a whole MLflow model)

LOAD = """
import json, sys
from pathlib import Path
from edm.inference.engines import load_network
loaded = load_network(Path(sys.argv[1]))
print(json.dumps({"engine": loaded.network.engine, "torch": "torch" in sys.modules}))
"""


def _load_elsewhere(checkpoint: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", LOAD, str(checkpoint)], capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_the_version_carries_its_checked_onnx_graph(tiny_checkpoint: Path, tmp_path: Path) -> None:
    source = tmp_path / "outputs" / "run" / "best.pt"
    source.parent.mkdir(parents=True)
    shutil.copyfile(tiny_checkpoint, source)
    registry = ModelRegistry(tracking_uri=str(tmp_path / "mlruns"), download_dir=tmp_path / "dl")
    registry.log_model(source, "onnx", {}, {"best_val_loss": 1.0})

    checkpoint = registry.download_version(1)
    stem = f"best-{file_sha256(checkpoint)[:16]}"
    graph, metadata = checkpoint.with_name(f"{stem}.onnx"), checkpoint.with_name(f"{stem}.json")
    assert graph.is_file() and graph.stat().st_size > 1000
    assert json.loads(metadata.read_text())["checkpoint_sha256"] == file_sha256(checkpoint)

    # A serving host: the registered graph answers; no torch, no export of its own.
    assert _load_elsewhere(checkpoint) == {"engine": "onnxruntime", "torch": False}
    assert not (checkpoint.parent / ".edm-onnx").exists()

    # A version registered before this change has no graph: it is exported on first load.
    graph.unlink()
    metadata.unlink()
    assert _load_elsewhere(checkpoint)["engine"] == "onnxruntime"
    assert list((checkpoint.parent / ".edm-onnx").glob("best-*.onnx"))
