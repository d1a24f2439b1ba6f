"""What SOURCE means (no Spark needed), and the CLI's one-line errors for bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from edm.batch.files import read_content
from edm.batch.listing import list_inputs
from edm.errors import ConfigError


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_a_folder_is_searched_recursively_for_audio(tmp_path: Path) -> None:
    wanted = [touch(tmp_path / "a.wav"), touch(tmp_path / "deep" / "er" / "b.FLAC")]
    touch(tmp_path / "notes.txt")
    touch(tmp_path / "c.yaml")
    assert [i.path for i in list_inputs(str(tmp_path))] == sorted(str(p) for p in wanted)
    assert {i.size_bytes for i in list_inputs(str(tmp_path))} == {1}


def test_a_text_file_and_a_parquet_file_of_paths(tmp_path: Path) -> None:
    one = touch(tmp_path / "music" / "one.wav")
    listing = tmp_path / "tracks.txt"
    listing.write_text(f"# my set\nmusic/one.wav\n\n{one}\ns3://bucket/two.mp3\n")
    assert [i.path for i in list_inputs(str(listing))] == [str(one), "s3://bucket/two.mp3"]
    table = tmp_path / "tracks.parquet"
    pq.write_table(pa.table({"path": ["music/one.wav", None], "artist": ["x", "y"]}), table)
    assert [i.path for i in list_inputs(str(table))] == [str(one)]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "nowhere", "no such folder or file"),
        (lambda d: touch(d / "t.parquet", b"PAR1 broken"), "cannot be read as Parquet"),
        (
            lambda d: pq.write_table(pa.table({"file": ["a"]}), d / "x.parquet") or d / "x.parquet",
            "no 'path' column (columns: file)",
        ),
        (lambda d: touch(d / "blob.bin", b"\xff\xfe\x00\x81"), "not a text file of paths"),
    ],
)
def test_a_bad_source_is_named(tmp_path: Path, make, message: str) -> None:
    source = make(tmp_path)
    with pytest.raises(ConfigError) as caught:
        list_inputs(str(source))
    assert message in str(caught.value) and str(source) in str(caught.value)


def test_a_huge_file_is_hashed_without_keeping_its_bytes(tmp_path: Path) -> None:
    path = touch(tmp_path / "big.wav", b"0123456789" * 1000)
    small = read_content(str(path), max_bytes=20_000)
    big = read_content(str(path), max_bytes=100)
    assert big.data is None and small.data == path.read_bytes()
    assert big.content_hash == small.content_hash and big.size_bytes == 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nowhere", "--out", "res"], "nowhere: no such folder or file"),
        (["music", "--out", "res", "--partitions", "0"], "--partitions must be at least 1"),
        (["music", "--out", "taken.txt"], "--out taken.txt: a file is in the way"),
        (["music", "--out", "res", "--model", "best.pt"], "--model best.pt: edm batch runs"),
        (["music", "--out", "res", "--conf", "nonsense"], "--conf 'nonsense': expected KEY=VALUE"),
        (["empty", "--out", "res"], "empty: no audio files"),
        (
            ["music", "--out", "res", "--min-bpm", "150", "--max-bpm", "120"],
            "--min-bpm 150 and --max-bpm 120 leave no tempo to find",
        ),
    ],
)
def test_bad_input_is_one_line_and_leaves_no_run(
    run_edm, store_uri: str, tmp_path: Path, args: list[str], message: str
) -> None:
    touch(tmp_path / "music" / "a.wav")
    touch(tmp_path / "taken.txt")
    (tmp_path / "empty").mkdir()
    result = run_edm("--tracking-uri", store_uri, "batch", "analyze", *args)
    assert result.exit_code == 1, result.stderr
    assert message in result.stderr and len(result.stderr.strip().splitlines()) <= 2
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "res").exists()
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{store_uri}/mlflow.db")
    assert client.get_experiment_by_name("edm-batch") is None


def test_no_java_is_one_line_before_anything_starts(
    run_edm, store_uri: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    touch(tmp_path / "music" / "a.wav")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))  # the venv's tools, no java
    result = run_edm("--tracking-uri", store_uri, "batch", "analyze", "music", "--out", "res")
    assert result.exit_code == 1, result.stderr
    assert "needs Java 17 or newer" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "res").exists()
