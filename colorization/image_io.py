"""Reading and writing pictures the way users expect: upright, 16-bit and alpha kept, any path, never half-written,
memory bounded by a pixel limit, and the photo's date, camera, place, colour profile and DPI carried over.

OpenCV's codecs do the pixel work (one dependency already needed, 16-bit PNG/TIFF and CMYK JPEG handled); files are
read and written as bytes by Python so non-ASCII paths work on every platform, and EXIF orientation is applied here
because OpenCV ignores it when asked for the image unchanged (the only way to keep alpha and 16 bits). Pillow reads
the header (size and frame count, before any pixel is decoded) and the colour profile and DPI; the metadata is
spliced into OpenCV's output bytes, so the pixels are encoded once, by one codec.
"""
from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .atomic import write_bytes_atomically
from .errors import ImageError
from .model_files import display_path

READ_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".bmp", ".dib", ".jp2", ".pbm", ".pgm", ".ppm", ".pnm", ".gif",
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
DEFAULT_MAX_PIXELS = 100_000_000
"""Pictures above this many pixels are refused before decoding (a decompression bomb of a few hundred KB can
unpack to tens of GB); --max-pixels raises it, 0 removes it."""
MAX_PIXELS_HINT = "pass --max-pixels N to allow more, 0 for no limit"

# This module checks the size itself (DEFAULT_MAX_PIXELS, from the header) and Pillow only reads headers here.
Image.MAX_IMAGE_PIXELS = None


def writable_extension(extension: str, extensions=WRITE_FORMATS) -> str:
    """The input's own type when outputs can be written in it, else PNG."""
    return extension if extension.lower() in extensions else FALLBACK_EXTENSION


@dataclass
class Metadata:
    """What an archive keeps of a photo besides its pixels: the EXIF block (date taken, camera, description, GPS;
    orientation set to 1 because the pixels are made upright), the ICC colour profile and the resolution."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None


@dataclass
class Picture:
    image: np.ndarray
    metadata: Metadata


def check_pixel_count(shown: str, width: int, height: int, max_pixels: int) -> None:
    if max_pixels and width * height > max_pixels:
        raise ImageError(
            f"{shown}: {width}x{height} is {width * height / 1e6:.0f} megapixels, above the limit of "
            f"{max_pixels / 1e6:g}: {MAX_PIXELS_HINT}"
        )


def read_header(shown: str, data: bytes, max_pixels: int) -> Metadata:
    """Size, frame count, colour profile and DPI from the header alone; refuses what must not be decoded."""
    try:
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
            frames = getattr(header, "n_frames", 1)
            info = dict(header.info)
    except Exception:  # a format or variant Pillow does not know: OpenCV decodes it, the size is checked after
        return Metadata()
    check_pixel_count(shown, width, height, max_pixels)
    if frames > 1:
        raise ImageError(
            f"{shown} is animated ({frames} frames): colorize it as a film, e.g. video_colorize.py -i {shown} -o NAME.mp4"
        )
    dpi = info.get("dpi")
    try:
        exif = find_exif_block(data) if data[:4] not in TIFF_MAGIC else None
    except (struct.error, IndexError):
        exif = None
    return Metadata(
        exif=with_orientation(exif, 1) if exif else None,
        icc_profile=info.get("icc_profile") or None,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
    )


def read_picture(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Picture:
    """Decode with alpha and bit depth unchanged, then turn the pixels upright as EXIF orientation says; the size
    is checked against `max_pixels` (0: no limit) from the header, before the pixels are decoded."""
    path = Path(path)
    shown = display_path(path)
    if path.is_dir():
        raise ImageError(f"{shown} is a folder: use batch_colorize.py for folders")
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageError(f"{shown}: cannot read ({error.strerror or error})") from None
    if not data:
        raise ImageError(f"{shown}: the file is empty (0 bytes)")
    metadata = read_header(shown, data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"{shown}: not an image OpenCV can decode (corrupt, truncated or unsupported format)")
    check_pixel_count(shown, image.shape[1], image.shape[0], max_pixels)
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{shown}: {image.dtype} samples are not supported: save it as an 8- or 16-bit image")
    return Picture(apply_orientation(image, exif_orientation(data)), metadata)


def read_image(path: Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    return read_picture(path, max_pixels).image


def upright_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the picture as read_picture turns it upright, from its header alone, so that what depends
    on it (hints) is checked before any model loads; None when the header cannot be read that way."""
    try:
        data = Path(path).read_bytes()
        with Image.open(io.BytesIO(data)) as header:
            width, height = header.size
    except Exception:  # unreadable or a format Pillow does not know: checked once the picture is decoded
        return None
    return (height, width) if exif_orientation(data) in (5, 6, 7, 8) else (width, height)


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
        params = [cv2.IMWRITE_TIFF_RESUNIT, 2, cv2.IMWRITE_TIFF_XDPI, round(metadata.dpi[0]), cv2.IMWRITE_TIFF_YDPI, round(metadata.dpi[1])]
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


ICC_CHUNK = 65519
"""Profile bytes per JPEG APP2 segment (65535 minus the length, the ICC_PROFILE signature and two counters)."""


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def jpeg_with_metadata(data: bytes, metadata: Metadata) -> bytes:
    """OpenCV's JPEG with the EXIF (APP1) and ICC profile (APP2) segments inserted and the JFIF density set."""
    head, rest = data[:2], data[2:]
    if rest[:2] == b"\xff\xe0" and rest[4:9] == b"JFIF\x00" and metadata.dpi:
        length = struct.unpack(">H", rest[2:4])[0]
        app0 = bytearray(rest[: 2 + length])
        app0[11:16] = struct.pack(">BHH", 1, *(min(65535, round(value)) for value in metadata.dpi))
        head, rest = head + bytes(app0), rest[2 + length :]
    segments = b""
    if metadata.exif:
        segments += jpeg_segment(0xE1, b"Exif\x00\x00" + metadata.exif)
    if metadata.icc_profile:
        chunks = [metadata.icc_profile[i : i + ICC_CHUNK] for i in range(0, len(metadata.icc_profile), ICC_CHUNK)]
        for index, chunk in enumerate(chunks, 1):
            segments += jpeg_segment(0xE2, b"ICC_PROFILE\x00" + bytes([index, len(chunks)]) + chunk)
    return head + segments + rest


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_with_metadata(data: bytes, metadata: Metadata) -> bytes:
    """OpenCV's PNG with iCCP, pHYs and eXIf chunks after its header chunk (before the pixels, as the spec asks)."""
    chunks = b""
    if metadata.icc_profile:
        chunks += png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(metadata.icc_profile))
    if metadata.dpi:
        chunks += png_chunk(b"pHYs", struct.pack(">IIB", *(round(value / 0.0254) for value in metadata.dpi), 1))
    if metadata.exif:
        chunks += png_chunk(b"eXIf", metadata.exif)
    header_end = 8 + 12 + struct.unpack(">I", data[8:12])[0]
    return data[:header_end] + chunks + data[header_end:]


ORIENTATION_TAG = 0x0112
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of a JPEG, PNG, WebP or TIFF file; 1 when absent or unreadable."""
    try:
        tiff = find_exif_block(data)
        return read_orientation(tiff) if tiff else 1
    except (struct.error, IndexError, KeyError, ValueError):
        return 1


def find_exif_block(data: bytes) -> bytes | None:
    if data[:2] == b"\xff\xd8":
        position = 2
        while position + 4 <= len(data) and data[position] == 0xFF:
            marker = data[position + 1]
            if marker == 0xDA:
                return None
            length = struct.unpack(">H", data[position + 2 : position + 4])[0]
            payload = data[position + 4 : position + 2 + length]
            if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
                return payload[6:]
            position += 2 + length
        return None
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        position = 8
        while position + 8 <= len(data):
            length, kind = struct.unpack(">I4s", data[position : position + 8])
            if kind == b"eXIf":
                return data[position + 8 : position + 8 + length]
            if kind == b"IDAT":
                return None
            position += 12 + length
        return None
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        position = 12
        while position + 8 <= len(data):
            kind, length = struct.unpack("<4sI", data[position : position + 8])
            if kind == b"EXIF":
                block = data[position + 8 : position + 8 + length]
                return block[6:] if block.startswith(b"Exif\x00\x00") else block
            position += 8 + length + (length & 1)
        return None
    if data[:4] in TIFF_MAGIC:
        return data
    return None


def orientation_entry(tiff: bytes) -> tuple[str, int] | None:
    """(byte order, offset of the value) of the orientation tag in an EXIF (TIFF) block's first directory."""
    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (first_directory,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[first_directory : first_directory + 2])
    for index in range(count):
        entry = first_directory + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
        if tag == ORIENTATION_TAG and kind == 3:
            return order, entry + 8
    return None


def read_orientation(tiff: bytes) -> int:
    found = orientation_entry(tiff)
    if found is None:
        return 1
    order, offset = found
    (value,) = struct.unpack(order + "H", tiff[offset : offset + 2])
    return value if 1 <= value <= 8 else 1


def with_orientation(tiff: bytes, value: int) -> bytes | None:
    """The EXIF block with its orientation tag (when present) set to `value`, every other byte as it was; None
    when the block cannot be parsed, so a damaged one is never copied."""
    try:
        found = orientation_entry(tiff)
    except (struct.error, IndexError, KeyError, ValueError):
        return None
    if found is None:
        return tiff
    order, offset = found
    return tiff[:offset] + struct.pack(order + "H", value) + tiff[offset + 2 :]


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Rotate/flip so the pixels are upright (EXIF 2-8), for any number of channels."""
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.swapaxes(a, 0, 1)[:, ::-1],
        7: lambda a: np.swapaxes(a, 0, 1)[::-1, ::-1],
        8: lambda a: np.swapaxes(a, 0, 1)[::-1],
    }
    if orientation not in transforms:
        return image
    return np.ascontiguousarray(transforms[orientation](image))


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """An 8-bit BGR strip input|output for a quick look, whatever the inputs' depth and channels."""
    def as_bgr8(image: np.ndarray) -> np.ndarray:
        image = fit_format(image, ".jpg")
        if image.ndim == 2 or image.shape[2] == 1:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape[2] == 2:
            return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR)
        return image

    return np.hstack([as_bgr8(left), as_bgr8(right)])
