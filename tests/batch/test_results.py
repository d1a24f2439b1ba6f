"""The output folder itself: parts written whole, and one row per track and version kept."""

from __future__ import annotations

from pathlib import Path

from edm.batch import read_results
from edm.batch.results import compact, output_rows, write_part


def task_row(path: str, content_hash: str) -> dict:
    return {"path": path, "content_hash": content_hash, "size_bytes": 10, "status": "error",
            "error": "the audio is empty", "result": None, "seconds": 0.1}  # fmt: skip


def test_compact_keeps_the_newest_row_of_a_track_and_leaves_distinct_parts_alone(
    tmp_path: Path,
) -> None:
    first = output_rows([task_row("/a.wav", "old"), task_row("/b.wav", "b")], "m", "u", "r1")
    write_part(tmp_path, 1, first, "r1-0")
    write_part(tmp_path, 1, output_rows([task_row("/c.wav", "c")], "m", "u", "r1"), "r1-1")
    assert compact(tmp_path, 1, "r1-compacted") == 0
    assert len(list((tmp_path / "model_version=1").glob("part-*.parquet"))) == 2

    write_part(tmp_path, 1, output_rows([task_row("/a.wav", "new")], "m", "u", "r2"), "r2-0")
    assert compact(tmp_path, 1, "r2-compacted") == 1
    rows = {r["path"]: r for r in read_results(tmp_path).to_pylist()}
    assert sorted(rows) == ["/a.wav", "/b.wav", "/c.wav"]
    assert rows["/a.wav"]["content_hash"] == "new"
    assert [p.name for p in (tmp_path / "model_version=1").iterdir()] == [
        "part-r2-compacted.parquet"
    ]
