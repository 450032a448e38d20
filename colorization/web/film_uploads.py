"""A film upload streamed to disk as it arrives: a multipart field `file` (its small form fields kept beside it) or the
raw body, never held in memory, cut with 413 as soon as it passes the size limit, with 408 when it stalls, and with
507 when the disk fills under it."""

from __future__ import annotations

import errno
from pathlib import Path
from typing import BinaryIO

from fastapi import Request
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from .errors import WebError
from .uploads import MEGABYTE, body_chunks, multipart_boundary

FLUSH_BYTES = 1 << 20
"""Data gathered between writes: disk writes go to a thread in pieces this size, so the event loop never waits."""
FORM_OVERHEAD = 64 * 1024
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 16


class FormToDisk:
    """python-multipart's streaming parser, writing the part named `file` into a buffer the caller flushes to disk
    and keeping the other (small) fields."""

    def __init__(self, boundary: bytes):
        self.pending = bytearray()
        self.fields: dict[str, str] = {}
        self.file_name: str | None = None
        self.header_name = bytearray()
        self.header_value = bytearray()
        self.disposition = b""
        self.part: str | None = None
        self.value = bytearray()
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self.part_begin,
                "on_part_data": self.part_data,
                "on_part_end": self.part_end,
                "on_header_field": lambda data, start, end: self.header_name.extend(data[start:end]),
                "on_header_value": lambda data, start, end: self.header_value.extend(data[start:end]),
                "on_header_end": self.header_end,
                "on_headers_finished": self.headers_finished,
            },
        )

    def part_begin(self) -> None:
        self.disposition, self.part = b"", None
        self.value.clear()

    def header_end(self) -> None:
        if bytes(self.header_name).lower() == b"content-disposition":
            self.disposition = bytes(self.header_value)
        self.header_name.clear()
        self.header_value.clear()

    def headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if name == "file" and self.file_name is None:
            self.part = "file"
            self.file_name = options.get(b"filename", b"").decode("utf-8", "replace")
        elif len(self.fields) < MAX_FIELDS:
            self.part = f"field:{name}"

    def part_data(self, data: bytes, start: int, end: int) -> None:
        if self.part == "file":
            self.pending += data[start:end]
        elif self.part is not None:
            self.value += data[start:end]
            if len(self.value) > MAX_FIELD_BYTES:
                raise WebError(400, f"the form field {self.part[6:][:40]!r} is longer than {MAX_FIELD_BYTES} bytes")

    def part_end(self) -> None:
        if self.part and self.part.startswith("field:"):
            self.fields[self.part[6:]] = self.value.decode("utf-8", "replace")
        self.part = None


def form_parser(content_type: str) -> FormToDisk | None:
    """A parser for a multipart body, None for a raw one."""
    boundary = multipart_boundary(content_type, "film")
    return None if boundary is None else FormToDisk(boundary)


def declared_length(request: Request, limit: int) -> int | None:
    """The body's declared length, refused with 413 at once when it is over the limit."""
    declared = request.headers.get("content-length", "")
    length = int(declared) if declared.isdigit() else None
    if length is not None and length > limit + FORM_OVERHEAD:
        raise too_large(limit)
    return length


def too_large(limit: int) -> WebError:
    return WebError(413, f"the film is larger than {limit / MEGABYTE:g} MB (--max-film-mb)")


async def write_out(target: BinaryIO, data: bytearray) -> None:
    try:
        await run_in_threadpool(target.write, bytes(data))
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise WebError(
                507, "the server's disk filled up during the upload: delete finished films or try later"
            ) from None
        raise
    data.clear()


async def receive_film(
    request: Request, target_path: Path, limit: int, idle_seconds: float, min_rate: float
) -> tuple[str, dict]:
    """Write the request's film to `target_path`, within the size limit and the stalled-upload rule of uploads.py;
    (the client's name for it, the form's other fields)."""
    form = form_parser(request.headers.get("content-type", ""))
    pending = form.pending if form else bytearray()
    received = written = 0
    with open(target_path, "wb") as target:
        async for chunk in body_chunks(request, idle_seconds, min_rate):
            received += len(chunk)
            if form is None:
                pending += chunk
            else:
                try:
                    form.parser.write(chunk)
                except WebError:
                    raise
                except Exception:
                    raise WebError(
                        400, "the multipart form could not be read: send the film in a field named 'file'"
                    ) from None
            if written + len(pending) > limit or received > limit + FORM_OVERHEAD:
                raise too_large(limit)
            if len(pending) >= FLUSH_BYTES:
                written += len(pending)
                await write_out(target, pending)
        written += len(pending)
        await write_out(target, pending)
    if form is None:
        return request.query_params.get("name", ""), {}
    try:
        form.parser.finalize()
    except Exception:
        raise WebError(400, "the multipart form ends early: send the whole film in a field named 'file'") from None
    if form.file_name is None:
        raise WebError(400, "the multipart form has no field named 'file': send the film in it")
    return form.file_name, form.fields
