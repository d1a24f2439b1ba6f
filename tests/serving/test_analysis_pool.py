"""Analyses in worker processes (edm serve --analysis-processes): the answers of the pipeline
itself, a bad file's own error, and a killed process costing only its request."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from tests.tiny_model import tiny_cnn_checkpoint

from edm.errors import AudioError, ModelError
from edm.inference.pipeline import File2Structure
from edm.serving.analysis_pool import AnalysisPool


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("pool")
    (folder / "model").mkdir()
    checkpoint = tiny_cnn_checkpoint(folder / "model" / "best.pt", seed=5)
    File2Structure.from_checkpoint(checkpoint)  # keeps the ONNX export, as the service does
    rate = 22050
    t = np.arange(12 * rate) / rate
    clip = folder / "clicks.wav"
    sf.write(clip, (0.5 * np.sin(2 * np.pi * 800 * t) * (np.mod(t, 0.5) < 0.03)), rate)
    text = folder / "notes.wav"
    text.write_text("not audio at all")
    return {"checkpoint": checkpoint, "clip": clip, "text": text}


@pytest.fixture(scope="module")
def pool(files: dict[str, Path]):  # type: ignore[no-untyped-def]
    analyses = AnalysisPool(files["checkpoint"], processes=2, threads=1, device="cpu")
    analyses.warm_up(files["clip"])
    yield analyses
    analyses.close()


def test_processes_answer_what_the_pipeline_answers(
    pool: AnalysisPool, files: dict[str, Path]
) -> None:
    expected = File2Structure.from_checkpoint(files["checkpoint"]).analyze(files["clip"])
    got = pool.analyze(files["clip"])
    assert got.structure.to_dict() == expected.structure.to_dict()
    assert got.audio == expected.audio  # the drift descriptors come back too
    assert pool(files["clip"]).to_dict() == expected.structure.to_dict()


def test_a_bad_file_raises_its_own_error_from_the_process(
    pool: AnalysisPool, files: dict[str, Path]
) -> None:
    with pytest.raises(AudioError) as raised:
        pool.analyze(files["text"])
    assert "not a supported audio file" in raised.value.problem
    assert str(files["text"]) in str(raised.value)
    assert pool.analyze(files["clip"]).structure.duration == pytest.approx(12.0, abs=0.05)


def test_killed_processes_fail_their_requests_and_the_pool_comes_back(
    pool: AnalysisPool, files: dict[str, Path]
) -> None:
    workers = list(pool._pool._processes.values())  # this pool's processes, to kill them
    assert len(workers) == 2
    future = pool._submit(str(files["clip"]))  # in flight (an analysis takes milliseconds)
    for worker in workers:
        os.kill(worker.pid, signal.SIGKILL)
    with pytest.raises(ModelError, match="analysis process stopped"):
        pool._result(future)
    assert pool.analyze(files["clip"]).structure.duration == pytest.approx(12.0, abs=0.05)
    assert {w.pid for w in pool._pool._processes.values()}.isdisjoint(w.pid for w in workers)
