from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edm.errors import AudioError, CheckpointError
from edm.inference.pipeline import File2Structure


def test_a_long_file_is_analysed_window_by_window(tiny_checkpoint: Path, tmp_path: Path) -> None:
    audio = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    sf.write(audio, (0.1 * rng.standard_normal(22050 * 25)).astype(np.float32), 22050)
    analyzer = File2Structure.from_checkpoint(tiny_checkpoint, window_seconds=10.0)
    progress: list[tuple[int, int]] = []
    analysis = analyzer.analyze(audio, lambda done, total: progress.append((done, total)))
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert analysis.activations.n_frames == 1 + 22050 * 25 // 441
    assert analysis.structure.duration == pytest.approx(25.0, abs=0.05)
    assert set(analysis.seconds) == {"inputs", "model", "decoding"}
    assert analyzer.checkpoint_info["labels"][-1] == "unlabeled"


def test_features_go_to_the_cache_only_when_asked(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("EDM_CACHE_DIR", str(cache))
    audio = tmp_path / "short.wav"
    sf.write(audio, np.zeros(22050 * 3, dtype=np.float32), 22050)
    File2Structure.from_checkpoint(tiny_checkpoint)(audio)
    assert not cache.exists()
    File2Structure.from_checkpoint(tiny_checkpoint, cache=True)(audio)
    assert list(cache.rglob("*.npy"))


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "file is empty"), (b"not audio at all" * 100, "not a supported audio file")],
)
def test_bad_audio_is_an_error_naming_the_file(
    tiny_checkpoint: Path, tmp_path: Path, content: bytes, problem: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError, match=rf"bad\.wav: {problem}"):
        File2Structure.from_checkpoint(tiny_checkpoint)(path)


def test_a_file_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    path.write_bytes(b"PK\x03\x04 definitely not a checkpoint")
    with pytest.raises(CheckpointError, match=r"model\.pt"):
        File2Structure.from_checkpoint(path)
