"""The request body to a temporary audio file, refused as soon as it is too big.

Neither uvicorn nor Starlette caps a body, and Starlette spools a multipart upload whole
before the app sees it. So the body is streamed here: a ``Content-Length`` over the cap is
refused before a byte is read, and a body without one is cut off the moment it passes the cap.
A multipart body is parsed as it streams; only its ``file`` field is written to disk.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from edm.audio.io import SUPPORTED_SUFFIXES
from edm.errors import ServiceError

# What a raw body may be, and the suffix its temporary file gets (libsndfile reads the
# header, but a suffix keeps the file recognisable and helps MP3).
AUDIO_SUFFIXES = {
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/wave": ".wav",
    "audio/vnd.wave": ".wav",
    "audio/flac": ".flac",
    "audio/x-flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/vorbis": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/mp3": ".mp3",
    "audio/aiff": ".aiff",
    "audio/x-aiff": ".aiff",
    "audio/opus": ".opus",
    "audio/mp4": ".m4a",
    "audio/x-m4a": ".m4a",
    "audio/m4a": ".m4a",
    "audio/aac": ".aac",
}
KNOWN_SUFFIXES = SUPPORTED_SUFFIXES  # edm.audio.io's one list
FILE_FIELD = "file"


@dataclass
class Upload:
    path: Path
    size: int
    filename: str | None

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def check_declared_length(content_length: str | None, max_bytes: int) -> None:
    if content_length is None:
        return
    try:
        declared = int(content_length)
    except ValueError:
        raise ServiceError(400, f"Content-Length '{content_length}' is not a number") from None
    if declared > max_bytes:
        raise ServiceError(413, _too_big(max_bytes, f"the body declares {declared} bytes"))


def suffix_for(content_type: str) -> str:
    """The file suffix of a raw body's media type; 415 for one that is not audio."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in AUDIO_SUFFIXES:
        return AUDIO_SUFFIXES[media]
    if media.startswith("audio/") or media == "application/octet-stream":
        return ""
    shown = media or "none"
    raise ServiceError(
        415,
        f"unsupported Content-Type '{shown}': send the audio as a multipart field "
        f"'{FILE_FIELD}', or as the body with Content-Type audio/* or application/octet-stream",
    )


async def receive_upload(
    chunks: AsyncIterator[bytes], content_type: str, max_bytes: int, folder: str | None = None
) -> Upload:
    """Stream the body (raw or multipart) into a temporary file; ServiceError when refused."""
    media, options = parse_options_header(content_type or "")
    multipart = media == b"multipart/form-data"
    suffix = "" if multipart else suffix_for(content_type or "")
    if multipart and not options.get(b"boundary"):
        raise ServiceError(400, "multipart body without a boundary in its Content-Type")
    handle, name = tempfile.mkstemp(prefix="edm-upload-", suffix=suffix, dir=folder)
    target = os.fdopen(handle, "wb")
    received = 0
    path = Path(name)  # where the file is now: renamed below to take the upload's suffix
    try:
        part = _FilePart(target) if multipart else None
        parser = MultipartParser(options[b"boundary"], part.callbacks()) if part else None
        async for chunk in chunks:
            received += len(chunk)
            if received > max_bytes:
                raise ServiceError(413, _too_big(max_bytes, f"the body passed {max_bytes} bytes"))
            if parser is not None:
                _parse(parser, chunk)
            else:
                target.write(chunk)
        target.close()
        if parser is not None and part is not None:
            _parse(parser, None)
            if not part.found:
                raise ServiceError(422, f"the multipart body has no field named '{FILE_FIELD}'")
            filename = part.filename
            path = _with_suffix(path, Path(filename or "").suffix.lower())
        else:
            filename = None
        size = path.stat().st_size
        if size == 0:
            raise ServiceError(422, "the audio is empty (0 bytes)")
        return Upload(path=path, size=size, filename=filename)
    except BaseException:
        # Whatever refused it (a limit, a parse error, a timeout, a client gone): nothing stays.
        target.close()
        path.unlink(missing_ok=True)
        Path(name).unlink(missing_ok=True)
        raise


def _parse(parser: MultipartParser, chunk: bytes | None) -> None:
    try:
        parser.write(chunk) if chunk is not None else parser.finalize()
    except MultipartParseError as exc:
        raise ServiceError(400, f"malformed multipart body: {exc}") from None


def _with_suffix(path: Path, suffix: str) -> Path:
    if suffix not in KNOWN_SUFFIXES:
        return path
    return path.rename(path.with_suffix(suffix))


def _too_big(max_bytes: int, what: str) -> str:
    return (
        f"upload too large: {what}; the limit is {max_bytes / 1024 / 1024:g} MB (--max-upload-mb)"
    )


class _FilePart:
    """Multipart callbacks that write the ``file`` field's bytes and skip every other field."""

    def __init__(self, target: object) -> None:
        self.target = target
        self.found = False
        self.filename: str | None = None
        self._field = b""
        self._value = b""
        self._disposition = b""
        self._writing = False

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._field = self._value = self._disposition = b""
        self._writing = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        if self._field.lower() == b"content-disposition":
            self._disposition = self._value
        self._field = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        if options.get(b"name") == FILE_FIELD.encode() and not self.found:
            self.found = self._writing = True
            filename = options.get(b"filename")
            self.filename = filename.decode("utf-8", "replace") if filename else None

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._writing:
            self.target.write(data[start:end])  # type: ignore[attr-defined]

    def _end(self) -> None:
        self._writing = False
