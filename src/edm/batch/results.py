"""The output folder: one row per track in Parquet, partitioned by model version.

    OUT/model_version=3/part-<run>-<chunk>.parquet

Each chunk of tracks lands as one file, written under a hidden temporary name and renamed into
place: a reader (Spark, pandas, pyarrow) never sees half a file, and a driver killed with
``kill -9`` loses at most the chunk it was working on. The files are the job's only state: a
new run reads them to skip what is done. ``model_version`` is the partition column (Spark's
and pyarrow's "hive" layout): ``pd.read_parquet(OUT)`` and ``spark.read.parquet(OUT)`` give it
back as a column.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from edm.atomic import atomic_write, remove_temporaries

PARTITION = "model_version"
_SECTION = pa.struct(
    [
        ("start", pa.float64()),
        ("end", pa.float64()),
        ("label", pa.string()),
        ("confidence", pa.float64()),
        ("energy_low", pa.float64()),
        ("energy_mid", pa.float64()),
        ("energy_high", pa.float64()),
    ]
)
_CONFIDENCE = pa.struct(
    [(part, pa.float64()) for part in ("overall", "beats", "tempo", "sections")]
)
ROW_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("content_hash", pa.string()),
        ("size_bytes", pa.int64()),
        # The file's modification time as the driver listed it: with the size, a re-run tells
        # an unchanged file without reading it (null in parts of older edm versions).
        ("mtime_ns", pa.int64()),
        ("duration", pa.float64()),
        ("bpm", pa.float64()),
        ("time_signature", pa.string()),
        ("beats", pa.list_(pa.float64())),
        ("downbeats", pa.list_(pa.float64())),
        ("sections", pa.list_(_SECTION)),
        ("confidence", _CONFIDENCE),
        ("model_name", pa.string()),
        ("model_uri", pa.string()),
        ("error", pa.string()),
        ("seconds", pa.float64()),
        ("analysed_at", pa.timestamp("ms", tz="UTC")),
        ("batch_run_id", pa.string()),
    ]
)


@dataclass(frozen=True)
class DoneRow:
    content_hash: str | None
    model_version: int
    analysed_at: int  # milliseconds since the epoch
    size_bytes: int | None = None
    mtime_ns: int | None = None
    error: str | None = None


def output_rows(
    task_rows: list[dict[str, Any]],
    model_name: str,
    model_uri: str,
    run_id: str | None,
    mtimes: Mapping[str, int | None] | None = None,
) -> list[dict[str, Any]]:
    """Rows of ROW_SCHEMA from the executors' rows (skipped ones are left out); ``mtimes``:
    each path's modification time as listed."""
    now = datetime.now(UTC)
    mtimes = mtimes or {}
    rows = []
    for task in task_rows:
        if task["status"] == "skipped":
            continue
        structure = json.loads(task["result"]) if task.get("result") else {}
        rows.append(
            {
                "path": task["path"],
                "content_hash": task.get("content_hash"),
                "size_bytes": task.get("size_bytes"),
                "mtime_ns": mtimes.get(task["path"]),
                "duration": structure.get("duration"),
                "bpm": structure.get("bpm"),
                "time_signature": structure.get("time_signature"),
                "beats": structure.get("beats"),
                "downbeats": structure.get("downbeats"),
                "sections": [_section(s) for s in structure["sections"]] if structure else None,
                "confidence": structure.get("confidence"),
                "model_name": model_name,
                "model_uri": model_uri,
                "error": None if task["status"] == "ok" else task.get("error") or "failed",
                "seconds": task.get("seconds"),
                "analysed_at": now,
                "batch_run_id": run_id,
            }
        )
    return rows


def _section(section: dict[str, Any]) -> dict[str, Any]:
    energy = section.get("energy") or {}
    return {
        "start": section["start"],
        "end": section["end"],
        "label": section["label"],
        "confidence": section.get("confidence"),
        "energy_low": energy.get("low"),
        "energy_mid": energy.get("mid"),
        "energy_high": energy.get("high"),
    }


def write_part(out: Path, version: int, rows: list[dict[str, Any]], name: str) -> Path | None:
    """Write one chunk's rows as ``OUT/model_version=V/part-NAME.parquet``, atomically."""
    if not rows:
        return None
    import pyarrow.parquet as pq

    target = out / f"{PARTITION}={version}" / f"part-{name}.parquet"
    # atomic_write's temporary name starts with a dot: Spark and pyarrow skip hidden files, so
    # a half-written one is never read.
    with atomic_write(target, "wb") as handle:
        pq.write_table(pa.Table.from_pylist(rows, schema=ROW_SCHEMA), handle)
    return target


def remove_abandoned_temporaries(out: Path) -> int:
    """Delete the hidden temporaries a killed driver left mid-write in OUT; how many.

    Call only once no live driver writes OUT: a live one's temporary would vanish under it.
    """
    return sum(remove_temporaries(folder) for folder in (out, *out.glob(f"{PARTITION}=*")))


def read_results(out: Path | str, columns: list[str] | None = None) -> pa.Table:
    """Every row in OUT, ``model_version`` included; an empty table when there is none."""
    import pyarrow.dataset as ds

    out = Path(out)
    wanted = columns or [*ROW_SCHEMA.names, PARTITION]
    if not any(out.glob(f"{PARTITION}=*/part-*.parquet")):
        schema = ROW_SCHEMA.append(pa.field(PARTITION, pa.int32()))
        return schema.empty_table().select(wanted)
    dataset = ds.dataset(
        out,
        # Explicit: a column older parts lack (mtime_ns) reads as null instead of depending on
        # which file pyarrow happens to look at first.
        schema=ROW_SCHEMA.append(pa.field(PARTITION, pa.int32())),
        format="parquet",
        partitioning=ds.partitioning(pa.schema([(PARTITION, pa.int32())]), flavor="hive"),
        exclude_invalid_files=False,
    )
    return dataset.to_table(columns=wanted)


def done_rows(out: Path) -> dict[str, list[DoneRow]]:
    """Each path's earlier results, latest first.

    Read file by file with ``ParquetFile`` rather than as a dataset: this is the whole cost of
    a re-run with nothing to do, and ``pyarrow.dataset`` alone takes half a second to import.
    """
    import pyarrow.parquet as pq

    wanted = ("path", "content_hash", "analysed_at", "size_bytes", "mtime_ns", "error")
    done: dict[str, list[DoneRow]] = {}
    for part in sorted(out.glob(f"{PARTITION}=*/part-*.parquet")):
        version = int(part.parent.name.split("=", 1)[1])
        handle = pq.ParquetFile(part)
        present = [name for name in wanted if name in handle.schema_arrow.names]
        table = handle.read(columns=present)
        # Milliseconds since the epoch: ordered the same, and turning zoned timestamps into
        # datetimes would import pandas (a quarter of a second) for nothing.
        table = table.set_column(
            present.index("analysed_at"), "analysed_at", table["analysed_at"].cast(pa.int64())
        )
        for row in table.to_pylist():
            done.setdefault(row["path"], []).append(
                DoneRow(
                    row["content_hash"],
                    version,
                    row["analysed_at"],
                    row.get("size_bytes"),
                    row.get("mtime_ns"),  # absent from parts of older edm versions
                    row.get("error"),
                )
            )
    for rows in done.values():
        rows.sort(key=lambda r: r.analysed_at, reverse=True)
    return done


def compact(out: Path, version: int, name: str) -> int:
    """Keep one row per path (the latest) in a version's partition; the rows dropped.

    Two rows of one path and version happen when a file's content changed between runs. The
    kept rows are written first, then the old files removed: a kill in between leaves
    duplicates that the next run removes, never a lost row.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    folder = out / f"{PARTITION}={version}"
    parts = sorted(folder.glob("part-*.parquet"))
    if len(parts) < 2:
        return 0
    # The paths alone tell whether there is anything to do: the whole partition is read and
    # written again only then, not at the end of every run.
    paths = [path for p in parts for path in pq.read_table(p, columns=["path"])["path"].to_pylist()]
    if len(set(paths)) == len(paths):
        return 0
    table = pa.concat_tables([pq.read_table(p, schema=ROW_SCHEMA) for p in parts])
    paths = table["path"].to_pylist()
    seen: set[str] = set()
    keep = []
    for index in pc.sort_indices(table, [("analysed_at", "descending")]).to_pylist():
        if paths[index] not in seen:
            seen.add(paths[index])
            keep.append(index)
    dropped = table.num_rows - len(keep)
    write_part(out, version, table.take(sorted(keep)).to_pylist(), name)
    for part in parts:
        if part.name != f"part-{name}.parquet":
            part.unlink(missing_ok=True)
    return dropped
