"""The bad-input corpus: every odd input users (and hold-out testers) have given the toolkit, made at test time.

Each generator writes one input into a folder and returns its path (or, for the web, its bytes). The table of what
each command must answer lives in tests/test_bad_inputs.py; the families here are what it is built from: lying
headers, special files, sizes at and past every limit, damaged metadata, non-finite numbers, wrong-typed arrays,
paths that climb out of their folder.
"""

from __future__ import annotations

import os
import socket
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

GOOD_SIZE = (30, 40)
"""Height and width of the good picture every run also gets (1200 pixels: the pixel limit's edge in the corpus)."""


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header of any size: the pixel limit must refuse it from the header, before decoding a row."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1))) + chunk(b"IEND", b"")


def good_picture(path: Path) -> Path:
    image = np.dstack([np.full(GOOD_SIZE, value, np.uint8) for value in (40, 90, 160)])
    image[5:20, 5:25] = 200
    cv2.imwrite(str(path), image)
    return path


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height over one row of data: a decompression bomb's header."""
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    return (
        b"\x89PNG\r\n\x1a\n"
        + header
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * (width + 1)))
        + png_chunk(b"IEND", b"")
    )


def jpeg_claiming(width: int, height: int) -> bytes:
    frame = struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0])
    return b"\xff\xd8\xff\xc0" + struct.pack(">H", len(frame) + 2) + frame + b"\xff\xd9"


def bmp_claiming(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 14 + len(info)) + info + b"\0" * 16


def gif_claiming(width: int, height: int) -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", width, height, 0, 0, 0)
        + b",\0\0\0\0"
        + struct.pack("<HH", width, height)
        + b"\0\x02\x02D\x01\0;"
    )


def webp_claiming(width: int, height: int) -> bytes:
    vp8x = (
        b"VP8X"
        + struct.pack("<I", 10)
        + b"\0\0\0\0"
        + (width - 1).to_bytes(3, "little")
        + (height - 1).to_bytes(3, "little")
    )
    return b"RIFF" + struct.pack("<I", 4 + len(vp8x)) + b"WEBP" + vp8x


def encoded(extension: str, image: np.ndarray | None = None) -> bytes:
    image = np.full((*GOOD_SIZE, 3), 128, np.uint8) if image is None else image
    return cv2.imencode(extension, image)[1].tobytes()


def jpeg_with_broken_exif() -> bytes:
    """A JPEG whose EXIF block points outside itself (a date, the Exif directory, the next directory): Pillow warns
    twice about it, and a copy of it breaks other programs."""
    entries = [
        (0x0112, 3, 1, 1),
        (0x0132, 2, 20, 0x7FFF0000),
        (0x8769, 4, 1, 0x00FFFFFF),
        (0x010F, 2, 4, int.from_bytes(b"Cam\0", "little")),
    ]
    directory = (
        struct.pack("<H", len(entries))
        + b"".join(struct.pack("<HHII", *entry) for entry in entries)
        + struct.pack("<I", 0x0EEEEEEE)
    )
    app1 = b"Exif\x00\x00" + b"II*\x00" + struct.pack("<I", 8) + directory
    jpeg = encoded(".jpg")
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def animation(extension: str) -> bytes:
    import io

    frames = [Image.fromarray(np.full(GOOD_SIZE, value, np.uint8)).convert("RGB") for value in (40, 140, 240)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer,
        format={".gif": "GIF", ".png": "PNG", ".webp": "WEBP"}[extension],
        save_all=True,
        append_images=frames[1:],
        duration=[100, 200, 300],
        loop=0,
    )
    return buffer.getvalue()


def multipage_tiff() -> bytes:
    import io

    pages = [Image.fromarray(np.full(GOOD_SIZE, value, np.uint8)) for value in (40, 140, 240)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


PICTURE_BYTES = {
    # name: (extension, bytes); the file is NAME.EXTENSION, so every message names its case
    "empty": (".png", lambda: b""),
    "text": (".jpg", lambda: b"hello, this is not a picture\n"),
    "garbage_png": (".png", lambda: b"\x89PNG\r\n\x1a\n not really"),
    "truncated_png": (".png", lambda: encoded(".png")[:60]),
    "truncated_jpeg": (".jpg", lambda: encoded(".jpg")[:200]),
    "png_bomb": (".png", lambda: png_claiming(20000, 20000)),
    "jpeg_claiming_60000": (".jpg", lambda: jpeg_claiming(60000, 60000)),
    "bmp_claiming": (".bmp", lambda: bmp_claiming(100000, 100000)),
    "gif_claiming": (".gif", lambda: gif_claiming(65535, 65535)),
    "webp_claiming": (".webp", lambda: webp_claiming(16000, 16000)),
    "pnm_claiming": (".pgm", lambda: b"P5\n1000000 1000000\n255\n" + b"\0" * 64),
    "float_tiff": (".tif", lambda: encoded(".tif", np.zeros((*GOOD_SIZE, 3), np.float32))),
    "multipage_tiff": (".tif", multipage_tiff),
    "animated_gif": (".gif", lambda: animation(".gif")),
    "animated_png": (".png", lambda: animation(".png")),
    "animated_webp": (".webp", lambda: animation(".webp")),
}
"""Bad pictures as bytes: the same for a file on disk and for an upload."""
PICTURES_READ = {
    "broken_exif": (".jpg", jpeg_with_broken_exif),
    "avif": (".avif", lambda: encoded(".avif")),
}


def sparse_tiff(path: Path) -> Path:
    """A valid 10x10 TIFF made 3 GB long without writing a byte: its header lies about what follows."""
    cv2.imwrite(str(path), np.zeros((10, 10), np.uint8))
    os.truncate(path, 3 << 30)
    return path


def tiff_tag_claiming(path: Path, size: int = 600 << 20) -> Path:
    """A 10x10 TIFF whose description tag claims 600 MB, in a sparse file that holds them: reading the header must not
    read the tag."""
    entries = [
        (256, 3, 1, 10),
        (257, 3, 1, 10),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 512),
        (278, 3, 1, 10),
        (279, 4, 1, 100),
        (270, 2, size, 1024),
    ]
    directory = (
        struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *entry) for entry in entries) + b"\0" * 4
    )
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8) + directory)
    os.truncate(path, size + 2048)
    return path


def self_link(path: Path) -> Path:
    path.symlink_to(path.name)
    return path


def dangling_link(path: Path) -> Path:
    path.symlink_to(path.parent / "nowhere" / "gone.png")
    return path


def folder_named_like_a_picture(path: Path) -> Path:
    path.mkdir()
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def unix_socket(path: Path) -> Path:
    """A socket file (a server's, left bound): opening it fails, reading it must not be tried in a folder run."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    UNIX_SOCKETS.append(server)
    return path


UNIX_SOCKETS: list[socket.socket] = []
"""Kept open for the session, so the socket files stay sockets."""


def device_link(path: Path, device: str = "/dev/zero") -> Path:
    path.symlink_to(device)
    return path


PICTURE_FILES = {
    "sparse_tiff": (".tif", sparse_tiff),
    "tiff_tag_claiming": (".tif", tiff_tag_claiming),
    "self_link": (".png", self_link),
    "dangling_link": (".png", dangling_link),
    "folder_png": (".png", folder_named_like_a_picture),
}
"""Bad pictures that exist only as files (too large to upload, or links and folders)."""
SPECIAL_FILES = {
    "fifo": (".jpg", fifo),
    "socket": (".png", unix_socket),
    "zero_link": (".png", device_link),
}
"""Files a folder run must skip with a note instead of opening."""


def feed_endlessly(path: Path, head: bytes) -> None:
    """Write `head` then zeros into the FIFO `path` until its reader goes away: an endless `-i <(...)` stream."""
    zeros = b"\0" * (1 << 16)
    try:
        with open(path, "wb") as pipe:
            pipe.write(head)
            while True:
                pipe.write(zeros)
    except (BrokenPipeError, OSError):
        return


POINTS = {
    # name: the array written with np.save (allow_pickle for the object one), and what the message must say
    "points_strings": (lambda points: points.astype(str), "values"),
    "points_nan": (lambda points: np.where(np.arange(points.size).reshape(points.shape) == 7, np.nan, points), "NaN"),
    "points_inf": (
        lambda points: np.where(np.arange(points.size).reshape(points.shape) == 7, np.inf, points),
        "NaN or infinite",
    ),
    "points_complex": (lambda points: points.astype(complex), "complex"),
    "points_bool": (lambda points: points.astype(bool), "bool"),
    "points_object": (lambda points: points.astype(object), "object"),
    "points_beyond_gamut": (lambda points: points * 3.0, "beyond"),
    "points_wrong_shape": (lambda points: points[:300], "shape"),
    "points_transposed": (lambda points: points.T, "shape"),
}


def write_points(path: Path, values: np.ndarray) -> Path:
    np.save(path, values, allow_pickle=values.dtype == object)
    return path


def points_with_lying_header(path: Path, points: np.ndarray) -> Path:
    """A .npy whose header claims ten billion rows over the 313 of data: loading it would try to allocate them."""
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (10**10, 2)})
        handle.write(points.astype("<f4").tobytes())
    return path


def first_layer_misspelt(prototxt: Path, path: Path) -> Path:
    """The network with its first computing layer's type misspelt: cv2.dnn loads it and fails at the first forward."""
    text = prototxt.read_text()
    first = text.index('type: "', text.index('type: "Input"') + 1)
    kind_end = text.index('"', first + 7)
    path.write_text(text[: first + 7] + text[first + 7 : kind_end][::-1] + text[kind_end:])
    return path


def sparse_file(path: Path, size: int = 3 << 30, head: bytes = b"") -> Path:
    path.write_bytes(head)
    os.truncate(path, size)
    return path
