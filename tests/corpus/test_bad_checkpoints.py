"""Each bad checkpoint of the corpus is one line naming it; none ever runs code."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.corpus.bad_inputs import bad_checkpoints, build
from tests.tiny_model import tiny_cnn_checkpoint

NAMES = sorted(bad_checkpoints(Path("unused")))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("corpus")
    good = tiny_cnn_checkpoint(folder / "good.pt")
    return {p.name: p for p in build(folder / "checkpoints", bad_checkpoints(good))}


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from edm.synth import SynthConfig, write_synthetic_dataset

    folder = tmp_path_factory.mktemp("audio")
    write_synthetic_dataset(folder, 1, seed=4, config=SynthConfig(min_seconds=30, max_seconds=31))
    return folder / "track_000.wav"


@pytest.mark.parametrize("name", NAMES)
def test_analyze_with_a_bad_checkpoint_is_one_line_naming_it(
    run_edm: RunEdm, corpus: dict[str, Path], track: Path, name: str
) -> None:
    path = corpus[name]
    result = run_edm("analyze", str(track), "--model", str(path))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("Error: ") and str(path) in lines[0]
    assert "unexpected" not in lines[0]
    assert not (path.parent / "PWNED").exists()  # the pickled shell command never ran
