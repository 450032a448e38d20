"""Reading and writing pictures the way users expect: upright, 16-bit and alpha kept, any path, never half-written.

OpenCV's codecs do the work (one dependency already needed, 16-bit PNG/TIFF and CMYK JPEG handled); files are read
and written as bytes by Python so non-ASCII paths work on every platform, and EXIF orientation is applied here
because OpenCV ignores it when asked for the image unchanged (the only way to keep alpha and 16 bits).
"""
from __future__ import annotations

import struct
from pathlib import Path

import cv2
import numpy as np

from .atomic import write_bytes_atomically
from .errors import ImageError
from .model_files import display_path

READ_EXTENSIONS = (".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".bmp", ".dib", ".jp2", ".pbm", ".pgm", ".ppm", ".pnm")
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
JPEG_QUALITY = 95
WEBP_QUALITY = 95


def read_image(path: Path) -> np.ndarray:
    """Decode with alpha and bit depth unchanged, then turn the pixels upright as EXIF orientation says."""
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
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise ImageError(f"{shown}: not an image OpenCV can decode (corrupt, truncated or unsupported format)")
    if image.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"{shown}: {image.dtype} samples are not supported: save it as an 8- or 16-bit image")
    return apply_orientation(image, exif_orientation(data))


def fit_format(image: np.ndarray, extension: str) -> np.ndarray:
    """Reduce to what the output format holds: 16 bits scaled (not clipped) to 8, alpha dropped where impossible."""
    keeps_16_bits, keeps_alpha = WRITE_FORMATS[extension]
    if image.dtype == np.uint16 and not keeps_16_bits:
        image = ((image.astype(np.uint32) + 128) // 257).astype(np.uint8)
    if image.ndim == 3 and image.shape[2] == 4 and not keeps_alpha:
        image = np.ascontiguousarray(image[:, :, :3])
    return image


def encode_image(image: np.ndarray, extension: str) -> bytes:
    extension = extension.lower()
    if extension not in WRITE_FORMATS:
        raise ImageError(f"cannot write {extension or 'extension-less'} files: use one of {', '.join(WRITE_FORMATS)}")
    params = {
        ".jpg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpeg": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".jpe": [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY],
        ".webp": [cv2.IMWRITE_WEBP_QUALITY, WEBP_QUALITY],
    }.get(extension, [])
    ok, buffer = cv2.imencode(extension, fit_format(image, extension), params)
    if not ok:
        raise ImageError(f"OpenCV could not encode a {extension} image")
    return buffer.tobytes()


def write_image(path: Path, image: np.ndarray) -> None:
    """Encode in memory, then write to a temporary name beside `path` and rename it into place."""
    path = Path(path)
    data = encode_image(image, path.suffix)
    try:
        write_bytes_atomically(path, data)
    except OSError as error:
        raise ImageError(f"{display_path(path)}: cannot write ({error.strerror or error})") from None


ORIENTATION_TAG = 0x0112


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
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return data
    return None


def read_orientation(tiff: bytes) -> int:
    order = {b"II": "<", b"MM": ">"}[tiff[:2]]
    (first_directory,) = struct.unpack(order + "I", tiff[4:8])
    (count,) = struct.unpack(order + "H", tiff[first_directory : first_directory + 2])
    for index in range(count):
        entry = first_directory + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
        if tag == ORIENTATION_TAG and kind == 3:
            (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
            return value if 1 <= value <= 8 else 1
    return 1


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
