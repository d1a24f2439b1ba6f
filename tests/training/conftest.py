from __future__ import annotations

from pathlib import Path

import pytest

from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six short synthetic tracks, made once for the whole session."""
    folder = tmp_path_factory.mktemp("synth") / "data"
    write_synthetic_dataset(folder, 6, seed=1, config=SynthConfig(min_seconds=40, max_seconds=50))
    return folder
