"""The ONNX Runtime engine: the same structure as PyTorch, an export kept per checkpoint
content (and never a stale one), and no torch imported once that export exists."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.tiny_model import tiny_cnn_checkpoint

from edm.errors import CheckpointError, ConfigError
from edm.inference.engines import CACHE_FOLDER, load_network
from edm.inference.pipeline import File2Structure

_NO_TORCH = """
import json, sys
from pathlib import Path
from edm.inference.pipeline import File2Structure
analyzer = File2Structure.from_checkpoint(Path(sys.argv[1]))
structure = analyzer(sys.argv[2])
print(json.dumps({"engine": analyzer.file2activations.frames2activations.network.engine,
                  "torch": "torch" in sys.modules, "structure": structure.to_dict()}))
"""


@pytest.fixture
def checkpoint(tmp_path: Path) -> Path:
    (tmp_path / "model").mkdir()
    return tiny_cnn_checkpoint(tmp_path / "model" / "best.pt", seed=3)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rate = 22050
    t = np.arange(20 * rate) / rate
    clicks = np.sin(2 * np.pi * 900 * t) * (np.mod(t, 0.5) < 0.03)
    path = tmp_path_factory.mktemp("clip") / "clicks.wav"
    sf.write(path, (0.5 * clicks).astype(np.float32), rate, subtype="PCM_16")
    return path


def test_onnx_and_torch_give_the_same_activations_and_structure(
    checkpoint: Path, clip: Path
) -> None:
    onnx = File2Structure.from_checkpoint(checkpoint, engine="onnx").analyze(clip)
    torch_analysis = File2Structure.from_checkpoint(checkpoint, engine="torch").analyze(clip)
    for task in ("beat", "downbeat", "boundary", "energy", "label"):
        a, b = getattr(onnx.activations, task), getattr(torch_analysis.activations, task)
        assert a.shape == b.shape and np.abs(a - b).max() < 1e-5, task
    assert onnx.structure.to_dict() == torch_analysis.structure.to_dict()


def test_the_export_is_kept_and_a_later_load_imports_no_torch(checkpoint: Path, clip: Path) -> None:
    expected = File2Structure.from_checkpoint(checkpoint, engine="torch")(clip).to_dict()
    assert load_network(checkpoint).network.engine == "onnxruntime"  # exports, and keeps it
    kept = sorted(p.name for p in (checkpoint.parent / CACHE_FOLDER).iterdir())
    assert [Path(name).suffix for name in kept] == [".json", ".onnx"]
    done = subprocess.run(
        [sys.executable, "-c", _NO_TORCH, str(checkpoint), str(clip)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["engine"] == "onnxruntime"
    assert result["torch"] is False
    assert result["structure"] == json.loads(json.dumps(expected))


def test_new_weights_under_the_same_name_are_exported_again(checkpoint: Path, clip: Path) -> None:
    load_network(checkpoint)
    folder = checkpoint.parent / CACHE_FOLDER
    first = sorted(p.name for p in folder.iterdir())
    tiny_cnn_checkpoint(checkpoint, seed=4)  # other weights, same file name
    expected = File2Structure.from_checkpoint(checkpoint, engine="torch").analyze(clip)
    got = File2Structure.from_checkpoint(checkpoint).analyze(clip)
    second = sorted(p.name for p in folder.iterdir())
    assert second != first and len(second) == 2  # the stale export is gone, not kept beside
    assert np.abs(got.activations.beat - expected.activations.beat).max() < 1e-5


def test_a_damaged_export_is_replaced_and_one_that_cannot_be_kept_still_serves(
    checkpoint: Path, clip: Path
) -> None:
    load_network(checkpoint)
    folder = checkpoint.parent / CACHE_FOLDER
    (metadata,) = folder.glob("*.json")
    metadata.write_text("{not json")
    assert load_network(checkpoint).network.engine == "onnxruntime"
    assert json.loads(metadata.read_text())["labels"]  # written again, whole
    (graph,) = folder.glob("*.onnx")
    graph.write_bytes(graph.read_bytes()[:1000])  # a cut graph: onnxruntime refuses it
    assert load_network(checkpoint).network.engine == "onnxruntime"
    assert graph.stat().st_size > 1000
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    folder.write_text("a file where the cache folder would be")  # fails even for root
    analysis = File2Structure.from_checkpoint(checkpoint).analyze(clip)
    assert analysis.structure.duration == pytest.approx(20.0, abs=0.05)
    assert folder.read_text().startswith("a file")


def test_bad_engines_and_bad_checkpoints_are_refused(tmp_path: Path, checkpoint: Path) -> None:
    with pytest.raises(ConfigError, match="unknown inference engine 'tpu'"):
        load_network(checkpoint, engine="tpu")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="CPU only"):
        load_network(checkpoint, engine="onnx", device="cuda")
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        load_network(broken)  # not silently handed to the other engine
    with pytest.raises(CheckpointError):
        load_network(tmp_path / "missing.pt")
