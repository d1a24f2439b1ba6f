"""Each bad audio file of the corpus gets one line naming it; a batch goes on past it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.corpus.bad_inputs import BAD_AUDIO, build
from tests.tiny_model import tiny_cnn_checkpoint

from edm.audio.cache import FeatureCache, load_features
from edm.audio.io import load_audio, read_audio_info
from edm.errors import AudioError
from edm.synth import SynthConfig, write_synthetic_dataset


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build(tmp_path_factory.mktemp("corpus") / "audio", BAD_AUDIO)


@pytest.mark.parametrize("name", sorted(BAD_AUDIO))
def test_each_bad_file_is_one_error_naming_it(corpus: list[Path], name: str) -> None:
    path = next(p for p in corpus if p.name == name)
    with pytest.raises(AudioError) as caught:
        load_audio(path, 22050)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert caught.value.path == path


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("rate-1hz.wav", "absurd sample rate 1 Hz"),
        ("rate-10mhz.wav", "absurd sample rate 10000000 Hz"),
        ("endless.wav", "absurd length"),
    ],
)
def test_absurd_headers_are_refused_before_decoding(
    corpus: list[Path], name: str, problem: str
) -> None:
    path = next(p for p in corpus if p.name == name)
    with pytest.raises(AudioError, match=problem):
        read_audio_info(path)
    with pytest.raises(AudioError, match=problem):
        load_features(path, cache=FeatureCache(path.parent / "cache"))


@pytest.mark.slow
def test_a_batch_reports_each_bad_file_and_analyses_the_rest(
    corpus: list[Path], tmp_path: Path
) -> None:
    """In a child process: a crash (the 1 Hz header once segfaulted) fails the test, not pytest."""
    model = tiny_cnn_checkpoint(tmp_path / "tiny.pt")
    write_synthetic_dataset(tmp_path, 1, seed=2, config=SynthConfig(min_seconds=30, max_seconds=31))
    good = tmp_path / "track_000.wav"
    files = [str(p) for p in corpus]
    files.insert(len(files) // 2, str(good))
    done = subprocess.run(
        [sys.executable, "-m", "edm", "analyze", *files, "--model", str(model), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    for path in corpus:
        naming = [line for line in lines if line.startswith(f"Error: {path}: ")]
        assert len(naming) == 1, (path, lines)
    assert lines[-1] == f"{len(corpus)} of {len(files)} files could not be analysed"
    assert len(lines) == len(corpus) + 1, lines  # nothing else: no traceback, no warning
    assert [t["file"] for t in json.loads(done.stdout)["tracks"]] == [str(good)]
