"""Where the catalogue's files are: a local disk or S3, read the same way by the driver (to list)
and by the executors (to analyse).

S3 goes through the settings the rest of edm uses for S3 artifacts: ``MLFLOW_S3_ENDPOINT_URL``
(MinIO, moto) and the AWS credential chain (``AWS_ACCESS_KEY_ID``… or an instance role). They
are read from the environment of the process that opens the file and never copied into Spark's
configuration, where they would show in the UI and the event log.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from edm.audio.io import SUPPORTED_SUFFIXES, audio_files

S3_ENDPOINT_ENV = "MLFLOW_S3_ENDPOINT_URL"
_READ_BLOCK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    path: str  # an absolute local path or an s3://bucket/key URI
    size_bytes: int | None = None  # None where the listing did not say
    mtime_ns: int | None = None  # last modified, where the listing said


@dataclass(frozen=True)
class FileContent:
    """A file's content hash, size, and its bytes when they were under the size limit."""

    content_hash: str
    size_bytes: int
    data: bytes | None


def is_s3(path: str) -> bool:
    return path.startswith("s3://")


def is_audio_name(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)


def s3_client():
    import boto3

    return boto3.client("s3", endpoint_url=os.environ.get(S3_ENDPOINT_ENV) or None)


def split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    return parts.netloc, parts.path.lstrip("/")


def list_s3_audio(uri: str) -> Iterator[InputFile]:
    """Every audio object under an s3:// prefix (all pages of the listing)."""
    bucket, prefix = split_s3(uri)
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    paginator = s3_client().get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if is_audio_name(item["Key"]):
                modified = item.get("LastModified")
                mtime_ns = int(modified.timestamp() * 1e9) if modified is not None else None
                yield InputFile(f"s3://{bucket}/{item['Key']}", int(item["Size"]), mtime_ns)


def list_local_audio(folder: Path) -> Iterator[InputFile]:
    """Every audio file under ``folder``; DataError names a folder without any."""
    for path in audio_files(folder):
        status = path.stat()
        yield InputFile(str(path.resolve()), status.st_size, status.st_mtime_ns)


def read_content(path: str, max_bytes: int) -> FileContent:
    """Hash a file; keep its bytes only when it is at most ``max_bytes`` long, so that a huge
    file costs a streamed read, never its size in memory. OSError names a missing file."""
    digest = hashlib.sha256()
    with _open(path) as (stream, size):
        if size > max_bytes:
            for block in iter(lambda: stream.read(_READ_BLOCK), b""):
                digest.update(block)
            return FileContent(digest.hexdigest(), size, None)
        data = stream.read()
    digest.update(data)
    return FileContent(digest.hexdigest(), len(data), data)


class _open:
    """A readable stream and its size, for a local path or an S3 object."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stream = None

    def __enter__(self):
        if is_s3(self.path):
            bucket, key = split_s3(self.path)
            try:
                response = s3_client().get_object(Bucket=bucket, Key=key)
            except Exception as exc:  # botocore's errors: say which object and why, briefly
                raise OSError(f"cannot read {self.path}: {_s3_problem(exc)}") from None
            self._stream = response["Body"]
            return self._stream, int(response["ContentLength"])
        self._stream = open(self.path, "rb")
        return self._stream, os.fstat(self._stream.fileno()).st_size

    def __exit__(self, *exc_info: object) -> None:
        if self._stream is not None:
            self._stream.close()


def _s3_problem(exc: Exception) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    return error.get("Message") or error.get("Code") or type(exc).__name__
