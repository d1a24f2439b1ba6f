from __future__ import annotations

from pathlib import Path

import pytest

from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture(scope="session")
def synth_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six short synthetic tracks, made once for the whole session: of the generator's first
    sounds and form, which four training tracks can teach in a few epochs (the trainer is under
    test here, not how far a model generalises: scripts/lofo.py measures that)."""
    folder = tmp_path_factory.mktemp("synth") / "data"
    config = SynthConfig(
        min_seconds=40,
        max_seconds=50,
        sound_families=("classic",),
        arrangement_families=("template",),
    )
    write_synthetic_dataset(folder, 6, seed=1, config=config)
    return folder
