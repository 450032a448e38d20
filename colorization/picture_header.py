"""What a picture file says about itself before a pixel is decoded: its format, size, pages or frames, colour
profile and DPI, read by Pillow's own parsers (bounded, and silenced), and the limits a picture must keep: pixels,
bytes per pixel, one picture per file. The one picture reader (image_io) decides with these, for every command and
the web page alike.
"""

from __future__ import annotations

import contextlib
import shlex
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from PIL import Image, TiffImagePlugin

from .errors import ImageError, NotAPicture, PictureTooLarge
from .photo_metadata import Metadata

PICTURE_FORMATS = ("JPEG", "PNG", "TIFF", "WEBP", "BMP", "JPEG2000", "PPM", "GIF", "AVIF")
"""What is a picture here, by Pillow's format names: the formats whose header Pillow reads and OpenCV decodes."""
NOT_A_PICTURE = "not a picture this tool reads (JPEG, PNG, TIFF, WebP, BMP, JPEG 2000, PNM, GIF or AVIF)"
DEFAULT_MAX_PIXELS = 100_000_000
"""Pictures above this many pixels are refused before decoding (a decompression bomb of a few hundred KB can
unpack to tens of GB); --max-pixels raises it, 0 removes it."""
MAX_PIXELS_HINT = "pass --max-pixels N to allow more, 0 for no limit"
OPENCV_MAX_PIXELS = 1 << 30
"""OpenCV's own ceiling on a decoded picture: the pixel limit when --max-pixels 0 removes ours."""
BYTES_PER_PIXEL, TEXT_BYTES_PER_PIXEL = 8, 24
"""The most a picture file holds per pixel: four 16-bit samples stored raw, or written out as text (plain PNM)."""
METADATA_ALLOWANCE = 64 << 20
"""Room in a file for what is not pixels: EXIF, colour profiles, XMP, embedded previews."""
MAX_DIRECTORIES = 16
"""TIFF directories looked at to count the pages: more than one page is enough to know."""
MEGABYTE = 1e6

PILLOW_SETTINGS = threading.Lock()
"""Held while Pillow reads a header with the settings of pillow_reading_headers, which are process-wide."""


@contextlib.contextmanager
def pillow_reading_headers():
    """Pillow as this package reads headers with it, its settings put back after: the warnings it prints about the
    damaged EXIF it meets are silenced (photo_metadata repairs the EXIF), and its own pixel limit, which would
    refuse a picture above about 179 megapixels that --max-pixels allows, is lifted: no pixel is decoded here, and
    the package's own limit (check_pixel_count) is applied to the size the header gives right after. One header at
    a time, as neither setting is per thread; a program that imports the package keeps Pillow as it set it."""
    with PILLOW_SETTINGS, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pillow_limit = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = pillow_limit


@dataclass
class Header:
    """What the header says, before any pixel is decoded."""

    kind: str
    width: int
    height: int
    metadata: Metadata
    text: bool = False
    """Samples written as text (plain PBM/PGM/PPM), which take more bytes per pixel."""

    @property
    def byte_limit(self) -> int:
        return byte_limit(self.width * self.height, self.text)

    def check_bytes(self, shown: str, size: int) -> None:
        """A file larger than its header's picture can be (a sparse file, junk appended) is refused unread."""
        if size > self.byte_limit:
            raise PictureTooLarge(
                f"{shown}: {size / MEGABYTE:.0f} MB is more than a {self.width}x{self.height} picture can hold: "
                "the file is damaged or not what its header says"
            )


def byte_limit(pixels: int, text: bool = False) -> int:
    """The most bytes a file of `pixels` pixels can hold: every sample raw at 16 bits, plus metadata."""
    return pixels * (TEXT_BYTES_PER_PIXEL if text else BYTES_PER_PIXEL) + METADATA_ALLOWANCE


def check_pixel_count(shown: str, width: int, height: int, max_pixels: int, hint: str = MAX_PIXELS_HINT) -> None:
    if max_pixels and width * height > max_pixels:
        raise PictureTooLarge(
            f"{shown}: {width}x{height} is {width * height / 1e6:.0f} megapixels, above the limit of "
            f"{max_pixels / 1e6:g}: {hint}"
        )


def recognised_format(prefix: bytes) -> str | None:
    """The picture format the first bytes announce, by Pillow's own signatures."""
    Image.init()
    for name in PICTURE_FORMATS:
        accept = Image.OPEN.get(name, (None, None))[1]
        if accept is not None and accept(bytes(prefix[:16])):
            return name
    return None


def read_header(shown: str, source, max_pixels: int, hint: str = MAX_PIXELS_HINT) -> Header:
    """Format, size, pages or frames, colour profile and DPI of the picture in the seekable `source`, from its
    header alone; refuses what is no picture, too large, several pages or animated, before anything is decoded."""
    source.seek(0)
    prefix = source.read(16)
    kind = recognised_format(prefix)
    if kind is None:
        raise NotAPicture(f"{shown}: {NOT_A_PICTURE}")
    source.seek(0)
    with pillow_reading_headers():
        try:
            with Image.open(HeaderReads(source, kind), formats=PICTURE_FORMATS) as opened:
                kind, (width, height), info = opened.format, opened.size, dict(opened.info)
                frames = frame_count(opened)
        except Exception:  # Pillow's plugins raise a dozen types on damaged headers; each means the same here
            if kind != "TIFF":
                raise ImageError(f"{shown}: its {kind} header is damaged or cut short") from None
            (width, height), info, frames = tiff_size(shown, source), {}, 1
    check_pixel_count(shown, width, height, max_pixels, hint)
    check_single_picture(shown, kind, frames)
    dpi = info.get("dpi")
    metadata = Metadata(
        icc_profile=info.get("icc_profile") or None,
        dpi=(float(dpi[0]), float(dpi[1])) if dpi and dpi[0] and dpi[1] else None,
    )
    return Header(kind, width, height, metadata, text=prefix[:2] in (b"P1", b"P2", b"P3"))


class HeaderReads:
    """The file as Pillow reads a header from it: never more than METADATA_ALLOWANCE bytes in all (a WebP's header is
    the whole file, bounded before), so a header that claims more (a TIFF tag of 3 GB) is damaged, not read."""

    def __init__(self, source, kind: str):
        self.source = source
        self.left = METADATA_ALLOWANCE if kind != "WEBP" else None

    def read(self, size: int = -1) -> bytes:
        if self.left is None:
            return self.source.read(size)
        data = self.source.read(self.left + 1 if size is None or size < 0 else min(size, self.left + 1))
        self.left -= len(data)
        if self.left < 0:
            raise OSError("the header claims more bytes than a header holds")
        return data

    def __getattr__(self, name: str):
        return getattr(self.source, name)


def tiff_size(shown: str, source) -> tuple[int, int]:
    """Width and height from a TIFF's first directory, for the TIFFs whose pixel layout Pillow does not know (float
    samples...): OpenCV may still decode them, or name what it cannot."""
    try:
        source.seek(0)
        directory = TiffImagePlugin.ImageFileDirectory_v2(source.read(8))
        source.seek(directory.next)
        directory.load(cast(IO[bytes], HeaderReads(source, "TIFF")))
        return int(directory[256]), int(directory[257])
    except Exception:  # as in read_header: any failure of Pillow's directory reader is a damaged header
        raise ImageError(f"{shown}: its TIFF header is damaged or cut short") from None


def frame_count(opened: Image.Image) -> int:
    """Frames of an animation, pages of a TIFF (its reduced-resolution previews are no pages); a camera JPEG's
    previews (MPO) are not counted: OpenCV decodes its first picture, the photo."""
    if opened.format == "MPO" or not getattr(opened, "is_animated", False):
        return 1
    if not isinstance(opened, TiffImagePlugin.TiffImageFile):
        try:
            return int(getattr(opened, "n_frames", 2))
        except Exception:  # counting them all reads past what a header may read: it is animated all the same
            return 2
    pages = 0
    for index in range(MAX_DIRECTORIES):
        try:
            opened.seek(index)
        except Exception:  # the end of the directories, or a damaged one: the pages before it are counted
            break
        pages += not opened.tag_v2.get(254, 0) & 1
    return max(pages, 1)


def check_single_picture(shown: str, kind: str, frames: int) -> None:
    """One rule for every command and the web page: a file with several pages or frames is refused, saying what to do."""
    if frames <= 1:
        return
    if kind == "TIFF":
        raise ImageError(
            f"{shown} has {frames} pages: colorize one picture per file; split it first, e.g. tiffsplit "
            f"{shlex.quote(shown)} page- (libtiff), then colorize the pages"
        )
    stem = Path(shown).stem
    output = f"{stem}_colorized.gif" if kind == "GIF" else f"{stem}_colorized.mp4"
    raise ImageError(
        f"{shown} is animated ({frames} frames): colorize it as a film: "
        f"video_colorize.py -i {shlex.quote(shown)} -o {shlex.quote(output)}"
    )
