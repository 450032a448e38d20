"""What a photo carries besides its pixels, found in its bytes and spliced into an output's: the EXIF block (date
taken, camera, place; its orientation), the ICC colour profile and the resolution.

EXIF blocks are written by many programs and damaged by some: a block is checked entry by entry before it is copied,
and what points outside it is taken out, so an output never carries a broken directory that other programs trip on.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np


@dataclass
class Metadata:
    """What an archive keeps of a photo besides its pixels: the EXIF block (date taken, camera, description, GPS;
    orientation set to 1 because the pixels are made upright), the ICC colour profile and the resolution."""

    exif: bytes | None = None
    icc_profile: bytes | None = None
    dpi: tuple[float, float] | None = None


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
FIELD_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
"""Bytes per value of each TIFF field type; an entry of another type cannot be read, so it is not kept."""
DIRECTORY_LINKS = (0x8769, 0x8825, 0xA005)
"""Entries that point to another directory: the Exif, GPS and interoperability ones."""
THUMBNAIL_OFFSET, THUMBNAIL_LENGTH = 0x0201, 0x0202
MAX_DIRECTORIES = 16
"""More directories than any camera writes: a longer chain (or a loop) is damage."""


def exif_orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of a JPEG, PNG, WebP or TIFF file; 1 when absent or unreadable."""
    try:
        tiff = find_exif_block(data)
        return read_orientation(tiff) if tiff else 1
    except (struct.error, IndexError):
        return 1


def photo_exif(data: bytes) -> bytes | None:
    """The EXIF block to carry into an output: repaired, with its orientation set to 1 (the pixels are turned
    upright); None when there is none or nothing of it can be read. A TIFF's own directory is no EXIF block."""
    if data[:4] in TIFF_MAGIC:
        return None
    tiff = find_exif_block(data)
    tiff = repaired_exif(tiff) if tiff else None
    return with_orientation(tiff, 1) if tiff else None


def find_exif_block(data: bytes) -> bytes | None:
    try:
        if data[:2] == b"\xff\xd8":
            return jpeg_exif(data)
        if data[:8] == b"\x89PNG\r\n\x1a\n":
            return png_exif(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return webp_exif(data)
    except struct.error:
        return None
    return data if data[:4] in TIFF_MAGIC else None


def jpeg_exif(data: bytes) -> bytes | None:
    position = 2
    while position + 4 <= len(data) and data[position] == 0xFF:
        marker = data[position + 1]
        if marker == 0xDA:
            return None
        length = struct.unpack(">H", data[position + 2 : position + 4])[0]
        payload = data[position + 4 : position + 2 + length]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            return bytes(payload[6:])
        position += 2 + length
    return None


def png_exif(data: bytes) -> bytes | None:
    position = 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"eXIf":
            return bytes(data[position + 8 : position + 8 + length])
        if kind == b"IDAT":
            return None
        position += 12 + length
    return None


def webp_exif(data: bytes) -> bytes | None:
    position = 12
    while position + 8 <= len(data):
        kind, length = struct.unpack("<4sI", data[position : position + 8])
        if kind == b"EXIF":
            block = bytes(data[position + 8 : position + 8 + length])
            return block[6:] if block.startswith(b"Exif\x00\x00") else block
        position += 8 + length + (length & 1)
    return None


def repaired_exif(tiff: bytes) -> bytes | None:
    """The EXIF block with each entry whose value lies outside it, and each link to a directory that cannot be read,
    taken out; every other byte stays where it was, so the offsets of what is kept stay right. None when not even
    its header or first directory can be read."""
    if len(tiff) < 8 or tiff[:4] not in TIFF_MAGIC:
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    block = bytearray(tiff)
    (first,) = struct.unpack(order + "I", block[4:8])
    return bytes(block) if repair_directory(block, order, first, set()) else None


def repair_directory(block: bytearray, order: str, offset: int, seen: set[int]) -> bool:
    """Keep the readable entries of the directory at `offset` (and of those it links to), in place; False when the
    directory itself cannot be read, so that the link to it is taken out instead."""
    if offset in seen or len(seen) >= MAX_DIRECTORIES or not 8 <= offset <= len(block) - 2:
        return False
    seen.add(offset)
    (count,) = struct.unpack(order + "H", block[offset : offset + 2])
    end = offset + 2 + 12 * count
    if end + 4 > len(block):
        return False
    entries = [bytes(block[offset + 2 + 12 * index : offset + 14 + 12 * index]) for index in range(count)]
    kept = [entry for entry in entries if entry_is_sound(block, order, entry, seen)]
    kept = without_lost_thumbnail(block, order, kept)
    (next_directory,) = struct.unpack(order + "I", block[end : end + 4])
    if next_directory and not repair_directory(block, order, next_directory, seen):
        next_directory = 0
    rewritten = struct.pack(order + "H", len(kept)) + b"".join(kept) + struct.pack(order + "I", next_directory)
    block[offset : end + 4] = rewritten.ljust(end + 4 - offset, b"\x00")
    return True


def entry_is_sound(block: bytearray, order: str, entry: bytes, seen: set[int]) -> bool:
    tag, kind, number = struct.unpack(order + "HHI", entry[:8])
    size = FIELD_SIZES.get(kind, 0) * number
    (value,) = struct.unpack(order + "I", entry[8:12])
    if not size or (size > 4 and value + size > len(block)):
        return False
    if tag in DIRECTORY_LINKS:
        return kind in (4, 13) and number == 1 and repair_directory(block, order, value, seen)
    return True


def without_lost_thumbnail(block: bytearray, order: str, entries: list[bytes]) -> list[bytes]:
    """The thumbnail's offset and length entries go together, and only when the thumbnail lies inside the block."""
    values = {}
    for entry in entries:
        tag, kind, _ = struct.unpack(order + "HHI", entry[:8])
        if tag in (THUMBNAIL_OFFSET, THUMBNAIL_LENGTH):
            values[tag] = struct.unpack(order + ("H" if kind == 3 else "I"), entry[8 : 10 if kind == 3 else 12])[0]
    if not values or (len(values) == 2 and values[THUMBNAIL_OFFSET] + values[THUMBNAIL_LENGTH] <= len(block)):
        return entries
    return [
        entry
        for entry in entries
        if struct.unpack(order + "H", entry[:2])[0] not in (THUMBNAIL_OFFSET, THUMBNAIL_LENGTH)
    ]


def orientation_entry(tiff: bytes) -> tuple[str, int] | None:
    """(byte order, offset of the value) of the orientation tag in an EXIF (TIFF) block's first directory."""
    order = "<" if tiff[:2] == b"II" else ">"
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


def with_orientation(tiff: bytes, value: int) -> bytes:
    """The repaired EXIF block with its orientation tag (when present) set to `value`, every other byte as it was."""
    found = orientation_entry(tiff)
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
