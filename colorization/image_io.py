"""Reading and writing pictures the way users expect: upright, 16-bit and alpha kept, any path, never half-written,
memory bounded by pixel and byte limits checked before anything is allocated, and the photo's date, camera, place,
colour profile and DPI carried over.

One reader serves every command and the web server alike (`decode_picture` for bytes in memory, `read_picture` for a
path), so what is a picture is decided once. Pillow reads the header (format, size, pages or frames, colour profile,
DPI) before any pixel is decoded; OpenCV's codecs do the pixel work (one dependency already needed, 16-bit PNG/TIFF
and CMYK JPEG handled); EXIF orientation is applied here because OpenCV ignores it when asked for the image unchanged
(the only way to keep alpha and 16 bits). Files are read as bytes by Python, so non-ASCII paths work everywhere and a
pipe or device (`-i <(curl ...)`, `/dev/stdin`) is read as `cat` would, up to what a picture can hold.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .atomic import write_bytes_atomically
from .errors import ImageError, NotAPicture, PictureTooLarge
from .paths import display_path
from .photo_metadata import (
    TIFF_MAGIC,
    Metadata,
    apply_orientation,
    exif_orientation,
    jpeg_with_metadata,
    photo_exif,
    png_with_metadata,
)
from .picture_header import (  # noqa: F401 (DEFAULT_MAX_PIXELS and OPENCV_MAX_PIXELS are the limits the commands offer)
    DEFAULT_MAX_PIXELS,
    MAX_PIXELS_HINT,
    MEGABYTE,
    NOT_A_PICTURE,
    OPENCV_MAX_PIXELS,
    Header,
    byte_limit,
    check_pixel_count,
    read_header,
    recognised_format,
)

READ_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".tif",
    ".tiff",
    ".webp",
    ".bmp",
    ".dib",
    ".jp2",
    ".pbm",
    ".pgm",
    ".ppm",
    ".pnm",
    ".gif",
    ".avif",
)
WRITE_FORMATS = {
    # extension: (keeps 16 bits, keeps alpha)
    ".jpg": (False, False),
    ".jpeg": (False, False),
    ".jpe": (False, False),
    ".png": (True, True),
    ".tif": (True, True),
    ".tiff": (True, True),
    ".webp": (False, True),
    ".bmp": (False, True),
    ".jp2": (True, False),
    ".ppm": (True, False),
}
FALLBACK_EXTENSION = ".png"
"""For inputs in a format a colour picture is not written as (GIF, PGM, PBM...): lossless and 16-bit capable."""
JPEG_QUALITY = 95
WEBP_QUALITY = 95
HEADER_BYTES = 1 << 16
"""A pipe's first bytes, where a picture's header is looked for (then in 16 and 256 times as many)."""
SPOOLED_IN_MEMORY = 16 << 20
"""A pipe's bytes are kept in memory up to this, then in a temporary file, until the picture is decoded."""


def writable_extension(extension: str, extensions=WRITE_FORMATS) -> str:
    """The input's own type when outputs can be written in it, else PNG."""
    return extension if extension.lower() in extensions else FALLBACK_EXTENSION


@dataclass
class Picture:
    image: np.ndarray
    metadata: Metadata


def decode_picture(
    data: bytes,
    shown: str,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    header: Header | None = None,
    hint: str = MAX_PIXELS_HINT,
) -> Picture:
    """The picture in `data`, upright, with alpha and bit depth unchanged and its metadata; refused from its header
    (`header`, when read already) before decoding when it is too large, not a picture or not a single one."""
    if not len(data):
        raise ImageError(f"{shown}: the file is empty (0 bytes)")
    if header is None:
        header = read_header(shown, io.BytesIO(data), max_pixels, hint)
    header.check_bytes(shown, len(data))
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(
            f"{shown}: its {header.kind} data could not be decoded (damaged, cut short or an unsupported variant)"
        )
    check_pixel_count(shown, image.shape[1], image.shape[0], max_pixels, hint)
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{shown}: {image.dtype} samples are not supported: save it as an 8- or 16-bit image")
    header.metadata.exif = photo_exif(data)
    return Picture(apply_orientation(image, exif_orientation(data)), header.metadata)


def read_picture(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode with alpha and bit depth unchanged, then turn the pixels upright as EXIF orientation says; the size
    is checked against `max_pixels` (0: no limit) from the header, before the pixels are read or decoded. A pipe or
    device is read as `cat` would read it, and refused as soon as its bytes cannot be a picture within the limits."""
    path = Path(path)
    shown = display_path(path)
    try:
        mode = os.stat(path).st_mode
        if stat.S_ISDIR(mode):
            raise ImageError(f"{shown} is a folder: use batch_colorize.py for folders")
        with open(path, "rb") as handle:
            if stat.S_ISREG(mode):
                data, header = read_file(handle, shown, max_pixels)
            else:
                with spooled(handle, shown, max_pixels) as spool:
                    data, header = read_file(spool, shown, max_pixels)
    except OSError as error:
        raise ImageError(f"{shown}: cannot read ({error.strerror or error})") from None
    return decode_picture(data, shown, max_pixels, header)


def read_file(handle, shown: str, max_pixels: int) -> tuple[bytes, Header]:
    """The bytes of a seekable file, once its header has passed and its size fits what that header allows."""
    size = handle.seek(0, os.SEEK_END)
    if not size:
        raise ImageError(f"{shown}: the file is empty (0 bytes)")
    if size > byte_limit(max_pixels or OPENCV_MAX_PIXELS):
        raise PictureTooLarge(
            f"{shown}: {size / MEGABYTE:.0f} MB is more than any picture within the pixel limit holds ({MAX_PIXELS_HINT})"
        )
    header = read_header(shown, handle, max_pixels)
    header.check_bytes(shown, size)
    handle.seek(0)
    return handle.read(size), header


def spooled(handle, shown: str, max_pixels: int):
    """A pipe's bytes in a seekable spool, read to their end but never past what a picture within the pixel limit
    can hold: bytes that announce no picture are refused at once, and once the header can be read, its size sets
    the bound (a picture header followed by an endless stream is refused soon after its last possible byte)."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOLED_IN_MEMORY)  # noqa: SIM115 (returned open, or closed below)
    try:
        limit, next_look, header = byte_limit(max_pixels or OPENCV_MAX_PIXELS), 16, None
        while chunk := handle.read(HEADER_BYTES):
            size = spool.seek(0, os.SEEK_END) + spool.write(chunk)
            if size > limit:
                what = (
                    f"a {header.width}x{header.height} picture"
                    if header
                    else f"a picture within the pixel limit ({MAX_PIXELS_HINT})"
                )
                raise PictureTooLarge(
                    f"{shown}: more than {limit / MEGABYTE:.0f} MB without an end, more than {what} can hold"
                )
            if header is None and size >= next_look:
                header = header_so_far(shown, spool, max_pixels, final=next_look >= HEADER_BYTES << 8)
                limit = header.byte_limit if header else limit
                next_look = HEADER_BYTES if next_look == 16 else next_look << 4
    except BaseException:
        spool.close()
        raise
    return spool


def header_so_far(shown: str, spool, max_pixels: int, final: bool) -> Header | None:
    """The header, once the bytes hold it; None while a later look may still find it (a TIFF's may come last)."""
    spool.seek(0)
    if recognised_format(spool.read(16)) is None:
        raise NotAPicture(f"{shown}: {NOT_A_PICTURE}")
    try:
        return read_header(shown, spool, max_pixels)
    except (PictureTooLarge, NotAPicture):
        raise
    except ImageError:
        spool.seek(0)
        if final and spool.read(4) not in TIFF_MAGIC:
            raise
        return None


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    return read_picture(path, max_pixels).image


def upright_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the picture as read_picture turns it upright, from its header alone (and the first MB,
    where EXIF lives), so that what depends on it (hints) is checked before any model loads; None for a pipe or
    device, or when the header cannot be read: read_picture says why, later."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            header = read_header(display_path(path), handle, 0)
            handle.seek(0)
            start = handle.read(HEADER_BYTES << 4)
    except (ImageError, OSError):
        return None
    upright = exif_orientation(start) in (5, 6, 7, 8)
    return (header.height, header.width) if upright else (header.width, header.height)


def fit_format(image: np.ndarray, extension: str) -> np.ndarray:
    """Reduce to what the output format holds: 16 bits scaled (not clipped) to 8, alpha dropped where impossible."""
    keeps_16_bits, keeps_alpha = WRITE_FORMATS[extension]
    if image.dtype == np.uint16 and not keeps_16_bits:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4 and not keeps_alpha:
        image = np.ascontiguousarray(image[:, :, :3])
    return image


def encode_image(image: np.ndarray, extension: str, metadata: Metadata | None = None) -> bytes:
    extension = extension.lower()
    if extension not in WRITE_FORMATS:
        raise ImageError(f"cannot write {extension or 'extension-less'} files: use one of {', '.join(WRITE_FORMATS)}")
    metadata = metadata or Metadata()
    params = {
        ".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpe": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".webp": [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY],
    }.get(extension, [])
    if extension in (".tif", ".tiff") and metadata.dpi:
        params = [
            cv2.IMWRITE_TIFF_RESUNIT,
            2,
            cv2.IMWRITE_TIFF_XDPI,
            round(metadata.dpi[0]),
            cv2.IMWRITE_TIFF_YDPI,
            round(metadata.dpi[1]),
        ]
    ok, buffer = cv2.imencode(extension, fit_format(image, extension), params)
    if not ok:
        raise ImageError(f"OpenCV could not encode a {extension} image")
    data = buffer.tobytes()
    if extension in (".jpg", ".jpeg", ".jpe"):
        return jpeg_with_metadata(data, metadata)
    if extension == ".png":
        return png_with_metadata(data, metadata)
    return data


def write_image(path: Path, image: np.ndarray, metadata: Metadata | None = None) -> None:
    """Encode in memory (with `metadata` where the format holds it: JPEG and PNG all of it, TIFF the DPI), then
    write to a temporary name beside `path` and rename it into place."""
    path = Path(path)
    data = encode_image(image, path.suffix, metadata)
    try:
        write_bytes_atomically(path, data)
    except OSError as error:
        raise ImageError(f"{display_path(path)}: cannot write ({error.strerror or error})") from None
