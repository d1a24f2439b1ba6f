from __future__ import annotations

from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.synth import SynthConfig, write_synthetic_dataset

# Training tempos wider than the synthetic default (118-150 BPM): the model must keep the tempo
# of 174 BPM drum & bass, as the documented recipe does.
WIDE_TEMPO = SynthConfig(min_seconds=40, max_seconds=50, min_bpm=110, max_bpm=180)


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained, very small cnn: fast, for plumbing tests that do not judge quality."""
    return tiny_cnn_checkpoint(tmp_path_factory.mktemp("tiny") / "tiny.pt", seed=0)


@pytest.fixture(scope="session")
def trained_checkpoint(tmp_path_factory: pytest.TempPathFactory, _feature_cache_dir: Path) -> Path:
    """A small model trained for about half a minute: the suite's one end-to-end training."""
    from edm.training import TrainingConfig
    from edm.training.pipeline import train_from_directory

    root = tmp_path_factory.mktemp("trained")
    data = root / "data"
    write_synthetic_dataset(data, 16, seed=11, config=WIDE_TEMPO)
    config = TrainingConfig(num_epochs=8, output_dir=root / "outputs", run_name="small")
    # Session fixtures run before the per-test environment: point the cache away from ~/.cache.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EDM_CACHE_DIR", str(_feature_cache_dir))
        job = train_from_directory(data, config)
    return job.result.best_checkpoint


@pytest.fixture(scope="session")
def held_out_tracks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four tracks from the default generator (118-150 BPM) with a seed training never saw."""
    folder = tmp_path_factory.mktemp("held-out") / "data"
    write_synthetic_dataset(folder, 4, seed=12, config=SynthConfig(min_seconds=40, max_seconds=50))
    return folder
