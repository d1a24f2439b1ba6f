"""``--min-bpm/--max-bpm`` on analyze and serve: recorded with the results, refused when empty."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.tiny_model import tiny_cnn_checkpoint

from edm.errors import ConfigError
from edm.serving.config import ServeConfig
from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cnn_checkpoint(tmp_path_factory.mktemp("model") / "best.pt", seed=0)


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    write_synthetic_dataset(folder, 1, seed=5, config=SynthConfig(min_seconds=30, max_seconds=32))
    return folder / "track_000.wav"


def test_analyze_records_the_hinted_tempo_range(run_edm, model_file: Path, track: Path) -> None:
    result = run_edm(
        "analyze", str(track), "--model", str(model_file), "--json",
        "--min-bpm", "100", "--max-bpm", "150",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (document,) = json.loads(result.stdout)["tracks"]
    assert document["tempo_range"] == [100.0, 150.0]
    assert document["bpm"] is None or 100.0 <= document["bpm"] <= 150.0
    plain = run_edm("analyze", str(track), "--model", str(model_file), "--json")
    assert json.loads(plain.stdout)["tracks"][0]["tempo_range"] == [60.0, 210.0]


def test_an_empty_range_is_one_line(run_edm, model_file: Path, track: Path) -> None:
    result = run_edm(
        "analyze", str(track), "--model", str(model_file), "--min-bpm", "150", "--max-bpm", "100"
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "Error: --min-bpm 150 and --max-bpm 100 leave no tempo to find"


def test_serve_takes_the_hints_into_every_version_s_decoding() -> None:
    params = ServeConfig(min_bpm=160.0).decode_params()
    assert (params.tempo.min_bpm, params.tempo.max_bpm) == (160.0, 210.0)
    with pytest.raises(ConfigError, match="--min-bpm 160 and --max-bpm 120"):
        ServeConfig(min_bpm=160.0, max_bpm=120.0).decode_params()
    assert ServeConfig.from_json(ServeConfig(max_bpm=140.0).to_json()).max_bpm == 140.0
