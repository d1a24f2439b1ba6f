"""SOURCE → the list of tracks to analyse.

SOURCE is a folder (searched recursively for every format ``edm.audio.io`` reads; local or
``s3://``), a text file with one path per line (blank lines and ``#`` comments skipped;
relative paths are read from the file's folder), or a Parquet file with a ``path`` column.
The driver only lists: the executors read, hash and analyse each file.
"""

from __future__ import annotations

from pathlib import Path

from edm.batch.files import InputFile, is_s3, list_local_audio, list_s3_audio
from edm.errors import ConfigError


def list_inputs(source: str) -> list[InputFile]:
    """The tracks SOURCE names, each once, in a stable order; ConfigError names a bad SOURCE."""
    text = str(source).strip()
    if not text:
        raise ConfigError("SOURCE is empty: give a folder, a text file of paths or a Parquet file")
    if is_s3(text):
        found = _s3_listing(text)
    else:
        path = Path(text).expanduser()
        if path.is_dir():
            found = list(list_local_audio(path))
        elif not path.exists():
            raise ConfigError(f"{text}: no such folder or file")
        elif path.suffix.lower() == ".parquet":
            found = _parquet_listing(path)
        else:
            found = _text_listing(path)
    unique: dict[str, InputFile] = {}
    for item in found:
        unique.setdefault(item.path, item)
    return list(unique.values())


def _s3_listing(uri: str) -> list[InputFile]:
    try:
        return list(list_s3_audio(uri))
    except Exception as exc:  # botocore: no bucket, no credentials, no endpoint
        raise ConfigError(f"{uri}: cannot list it ({type(exc).__name__}: {exc})") from None


def _text_listing(path: Path) -> list[InputFile]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        raise ConfigError(
            f"{path}: not a text file of paths (give a folder, a text file or a .parquet file)"
        ) from None
    return [_entry(line.strip(), path.parent) for line in lines if _is_entry(line)]


def _parquet_listing(path: Path) -> list[InputFile]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # ArrowInvalid and friends: not Parquet, or cut short
        raise ConfigError(f"{path}: cannot be read as Parquet ({exc})") from None
    if "path" not in table.column_names:
        columns = ", ".join(table.column_names) or "none"
        raise ConfigError(f"{path}: no 'path' column (columns: {columns})")
    values = table.column("path").to_pylist()
    return [_entry(str(value).strip(), path.parent) for value in values if value]


def _is_entry(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def _entry(text: str, base: Path) -> InputFile:
    if is_s3(text):
        return InputFile(text)
    path = Path(text).expanduser()
    return InputFile(str((path if path.is_absolute() else base / path).resolve()))
