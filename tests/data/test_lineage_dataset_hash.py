from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from edm.data.lineage import dataset_hash
from edm.errors import DataError


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_hash_is_computed_the_way_dvc_hashes_a_directory(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "tracks").mkdir(parents=True)
    (data / "b.yaml").write_bytes(b"bpm: 128\n")
    (data / "tracks" / "a.wav").write_bytes(b"RIFF-fake-audio")
    (data / "a.txt").write_bytes(b"")

    # DVC: json.dumps(sorted entries, sort_keys=True) with its default separators, then md5.
    yaml_md5 = _md5(b"bpm: 128\n")
    listing = (
        f'[{{"md5": "{_md5(b"")}", "relpath": "a.txt"}}, '
        f'{{"md5": "{yaml_md5}", "relpath": "b.yaml"}}, '
        f'{{"md5": "{_md5(b"RIFF-fake-audio")}", "relpath": "tracks/a.wav"}}]'
    )
    expected = _md5(listing.encode()) + ".dir"

    assert dataset_hash(data) == expected


def test_hash_changes_with_content_and_names(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.yaml").write_text("x")
    first = dataset_hash(data)
    (data / "a.yaml").write_text("y")
    second = dataset_hash(data)
    (data / "a.yaml").rename(data / "b.yaml")
    third = dataset_hash(data)
    assert len({first, second, third}) == 3
    assert all(h.endswith(".dir") and len(h) == 36 for h in (first, second, third))


def test_dvc_file_beside_the_folder_is_used_when_present(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.yaml").write_text("x")
    (tmp_path / "data.dvc").write_text(
        "outs:\n- md5: 0123456789abcdef0123456789abcdef.dir\n  size: 1\n  nfiles: 1\n"
        "  hash: md5\n  path: data\n"
    )
    assert dataset_hash(data) == "0123456789abcdef0123456789abcdef.dir"


def test_broken_dvc_file_or_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="data folder not found"):
        dataset_hash(tmp_path / "data")
    (tmp_path / "data").mkdir()
    (tmp_path / "data.dvc").write_text("outs: []\n")
    with pytest.raises(DataError, match=r"data\.dvc: field 'outs\[0\]\.md5'"):
        dataset_hash(tmp_path / "data")
