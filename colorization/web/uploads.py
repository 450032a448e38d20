"""What a client sends: the request body read within its limits (size, and time: an upload that stalls or trickles
is cut), the picture taken out of it (a multipart field `file` or the raw body) with the client's name for it, and
the picture decoded by the one reader the commands use."""

from __future__ import annotations

import asyncio
import logging
import re
import time

import numpy as np
from fastapi import Request
from python_multipart.multipart import FormParser, parse_options_header

from ..errors import ImageError, NotAPicture, PictureTooLarge
from ..image_io import decode_picture
from .errors import WebError

MEGABYTE = 1 << 20
# The multipart parser warns on stderr about every odd byte a client sends; the client gets its 400, the log stays clean.
logging.getLogger("python_multipart").setLevel(logging.ERROR)


async def read_body(request: Request, limit: int, idle_seconds: float, min_rate: float) -> bytes:
    """The request body, refused with 413 as soon as it passes the limit (the declared length is checked first), and
    with 408 when it stalls or trickles: a slow or stalled upload must not hold a place in the queue for long."""
    declared = request.headers.get("content-length")
    too_large = WebError(413, f"the upload is larger than {limit / MEGABYTE:g} MB (--max-upload-mb)")
    if declared and declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise too_large
    body = bytearray()
    async for chunk in body_chunks(request, idle_seconds, min_rate):
        body += chunk
        if len(body) > limit + 64 * 1024:
            raise too_large
    return bytes(body)


async def body_chunks(request: Request, idle_seconds: float, min_rate: float):
    """The request body's pieces as they arrive, cut with 408 when it stalls (nothing for `idle_seconds`) or
    trickles (under `min_rate` bytes per second on average once it has run that long)."""
    received, started = 0, time.monotonic()
    chunks = request.stream().__aiter__()
    while True:
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), idle_seconds)
        except StopAsyncIteration:
            return
        except asyncio.TimeoutError:
            raise WebError(408, f"the upload stalled (nothing sent for {idle_seconds:g} s): send it again") from None
        received += len(chunk)
        elapsed = time.monotonic() - started
        if elapsed > idle_seconds and received < min_rate * elapsed:
            raise WebError(408, f"the upload is too slow (under {min_rate / 1024:g} KB/s): send it again")
        yield chunk


FORM_TEXT_FIELDS = ("hints",)
"""The form fields read beside the picture, as text: a plain field, or a file part (curl -F hints=@hints.json)."""
PICTURE_BODY = {
    "requestBody": {
        "description": "the picture, as a multipart field `file` or as the raw body; a form may carry `hints` too",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "hints": {
                            "type": "string",
                            "description": "colour hints as JSON, as the query parameter takes them",
                        },
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
"""What picture_from_body takes, as the OpenAPI description of an endpoint's body says it."""


def multipart_boundary(content_type: str, what: str) -> bytes | None:
    """The boundary of a multipart form, None for a raw body (the upload's own bytes); a header that cannot be read,
    or a form without its boundary, is a 400 that says how to send the `what` ("picture", "film")."""
    try:
        kind, options = parse_options_header(content_type or "")
    except ValueError:  # characters a header cannot hold
        raise WebError(
            400, f"the Content-Type header cannot be read: send multipart/form-data or the {what}'s own bytes"
        ) from None
    if kind != b"multipart/form-data":
        return None
    if not options.get(b"boundary"):
        raise WebError(
            400, f"the multipart form has no boundary in its Content-Type: send the {what} in a field named 'file'"
        )
    return options[b"boundary"]


def picture_from_body(content_type: str, body: bytes, limit: int) -> tuple[bytes, str, dict[str, str]]:
    """The picture's bytes, the client's name for it and the form's FORM_TEXT_FIELDS: a multipart field `file`, or
    the raw body (then no fields)."""
    boundary = multipart_boundary(content_type, "picture")
    data, name, fields = (body, "", {}) if boundary is None else file_field(body, boundary, limit)
    if len(data) > limit:
        raise WebError(413, f"the upload is larger than {limit / MEGABYTE:g} MB (--max-upload-mb)")
    return data, name, fields


def file_field(body: bytes, boundary: bytes, limit: int) -> tuple[bytes, str, dict[str, str]]:
    """The first multipart field named `file` in a form held in memory (its bytes and file name), and the first of
    each FORM_TEXT_FIELDS, as text or as a file part."""
    found, fields = {}, {}

    def wanted(name: bytes | None) -> str | None:
        text_name = (name or b"").decode("utf-8", "replace")
        return text_name if text_name in FORM_TEXT_FIELDS and text_name not in fields else None

    def on_field(field) -> None:
        name = wanted(field.field_name)
        if name is not None:
            fields[name] = (field.value or b"").decode("utf-8", "replace")

    def on_file(file) -> None:
        file.file_object.seek(0)
        if file.field_name == b"file" and "data" not in found:
            found["data"] = file.file_object.read()
            found["name"] = (file.file_name or b"").decode("utf-8", "replace")
        elif (name := wanted(file.field_name)) is not None:
            fields[name] = file.file_object.read().decode("utf-8", "replace")

    try:
        parser = FormParser(
            "multipart/form-data",
            on_field,
            on_file,
            boundary=boundary,
            config={"MAX_MEMORY_FILE_SIZE": limit + 1, "MAX_BODY_SIZE": limit + 64 * 1024},
        )
        parser.write(body)
        parser.finalize()
    except Exception:
        raise WebError(400, "the multipart form could not be read: send the picture in a field named 'file'") from None
    if "data" not in found:
        raise WebError(400, "the multipart form has no field named 'file': send the picture in it")
    return found["data"], found["name"], fields


def decode_upload(data: bytes, name: str | None, max_pixels: int) -> np.ndarray:
    """The uploaded picture, upright, read by the one reader the commands use: what `colorize.py` reads, the page
    reads, and what it refuses (too large, several pages, animated, damaged) is refused here with the same line."""
    label = upload_label(name)
    if not data:
        raise WebError(422, f"{label}: the upload is empty (0 bytes)")
    hint = f"this server takes at most {max_pixels / 1e6:g} MP (--max-pixels)"
    try:
        return decode_picture(data, label, max_pixels, hint=hint).image
    except PictureTooLarge as error:
        raise WebError(413, str(error)) from None
    except NotAPicture as error:
        raise WebError(415, str(error)) from None
    except ImageError as error:
        raise WebError(422, str(error)) from None


def upload_label(name: str | None) -> str:
    """How messages name an upload: the client's file name, made harmless, or 'the upload'."""
    base = re.split(r"[\\/]", name or "")[-1]
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", base).strip(" .")[:80]
    return cleaned or "the upload"
