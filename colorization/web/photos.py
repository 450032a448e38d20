"""What the web server keeps of each photo, and rendering it again with new settings without the network.

A photo is kept as its uploaded bytes (the smallest faithful form, decoded again for a full-size download), the
network's 313-bin scores (resolution independent: a new vividness is a new annealed mean of them) and a
screen-sized lightness for previews. Everything lives in memory, in an LRU cache bounded in bytes.
"""
from __future__ import annotations

import re
import secrets
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import ColorizationError
from ..image_io import apply_orientation, encode_image, exif_orientation, fit_format
from ..model import annealed_mean, annealing_scale
from ..pipeline import ColourSettings, PreparedImage, compose
from ..saturation import check_saturation
from ..upsampling import UPSAMPLE_METHODS, Upsampling

FORMATS = {"jpeg": (".jpg", "image/jpeg"), "png": (".png", "image/png")}
DEFAULT_JPEG_QUALITY = 95
PREVIEW_JPEG_QUALITY = 88
PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
MAX_TEMPERATURE = 10.0
MAX_SATURATION = 4.0


class WebError(Exception):
    """A request the server refuses: the HTTP status and one line for the client."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


class NotAPicture(WebError):
    pass


@dataclass(frozen=True)
class RenderSettings:
    """The live controls: annealed-mean temperature, chroma factor, upsampling method; None is the server's default."""

    temperature: float | None = None
    saturation: float | None = None
    upsample: str | None = None

    @classmethod
    def parse(cls, temperature=None, saturation=None, upsample=None) -> "RenderSettings":
        """Query-string values checked into settings; a bad one is a 400 that names the allowed range."""
        parsed_temperature = None if temperature in (None, "") else parse_number("temperature", temperature, 0.01, MAX_TEMPERATURE)
        parsed_saturation = None if saturation in (None, "") else parse_number("saturation", saturation, 0.0, MAX_SATURATION)
        method = None if upsample in (None, "") else str(upsample)
        if method is not None and method not in UPSAMPLE_METHODS:
            raise WebError(400, f"upsample must be one of {', '.join(UPSAMPLE_METHODS)}, got {method[:20]!r}")
        return cls(parsed_temperature, parsed_saturation, method)


def parse_number(name: str, value, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise WebError(400, f"{name} must be a number from {low:g} to {high:g}, got {str(value)[:40]!r}") from None
    if not low <= number <= high:  # NaN fails this too
        raise WebError(400, f"{name} must be a number from {low:g} to {high:g}, got {number:g}")
    return number


def parse_format(format_name=None, quality=None) -> tuple[str, int]:
    name = "jpeg" if format_name in (None, "") else str(format_name).lower()
    if name == "jpg":
        name = "jpeg"
    if name not in FORMATS:
        raise WebError(400, f"format must be jpeg or png, got {str(format_name)[:20]!r}")
    if quality in (None, ""):
        return name, DEFAULT_JPEG_QUALITY
    try:
        level = int(quality)
    except (TypeError, ValueError):
        raise WebError(400, f"quality must be a whole number from 1 to 100, got {str(quality)[:20]!r}") from None
    if not 1 <= level <= 100:
        raise WebError(400, f"quality must be a whole number from 1 to 100, got {level}")
    return name, level


# --- the size of a picture from its header, before anything is decoded ---------------------------------------

def header_size(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) read from the file's header alone, so a decompression bomb is refused undecoded.

    Only formats whose size we can read this way are accepted: anything else is not a picture we take."""
    try:
        if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return "png", width, height
        if data[:2] == b"\xff\xd8":
            return ("jpeg",) + jpeg_size(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return ("webp",) + webp_size(data)
        if data[:2] == b"BM":
            width, height = struct.unpack("<ii", data[18:26])
            return "bmp", abs(width), abs(height)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return ("tiff",) + tiff_size(data)
        if data[:1] == b"P" and data[1:2] in b"123456":
            return ("pnm",) + pnm_size(data)
    except (struct.error, IndexError, ValueError):
        raise NotAPicture(422, "the picture's header is damaged or truncated") from None
    raise NotAPicture(415, "not a picture this server reads: send a JPEG, PNG, WebP, TIFF, BMP or PNM file")


def jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ValueError("not a marker")
        marker = data[position + 1]
        if marker == 0xFF:
            position += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[position + 5 : position + 9])
            return width, height
        if marker == 0xDA:
            break
        position += 2 + length
    raise ValueError("no frame header")


def webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    raise ValueError("unknown WebP chunk")


def tiff_size(data: bytes) -> tuple[int, int]:
    order = "<" if data[:2] == b"II" else ">"
    (directory,) = struct.unpack(order + "I", data[4:8])
    (count,) = struct.unpack(order + "H", data[directory : directory + 2])
    found = {}
    for index in range(count):
        entry = directory + 2 + 12 * index
        tag, kind = struct.unpack(order + "HH", data[entry : entry + 4])
        if tag in (256, 257):
            value_format = order + ("H" if kind == 3 else "I")
            found[tag] = struct.unpack(value_format, data[entry + 8 : entry + 8 + struct.calcsize(value_format)])[0]
    return found[256], found[257]


def pnm_size(data: bytes) -> tuple[int, int]:
    tokens = re.sub(rb"#[^\n]*", b" ", data[2:512]).split()
    return int(tokens[0]), int(tokens[1])


def decode_picture(data: bytes, max_pixels: int) -> np.ndarray:
    """The uploaded bytes as an upright 8- or 16-bit array, refusing what is too big before decoding it."""
    if not data:
        raise NotAPicture(422, "the upload is empty (0 bytes)")
    kind, width, height = header_size(data)
    if width <= 0 or height <= 0:
        raise NotAPicture(422, f"the {kind} header gives an empty picture ({width}x{height})")
    if width * height > max_pixels:
        raise WebError(
            413, f"the picture is {width}x{height} ({width * height / 1e6:.0f} MP): this server takes at most "
            f"{max_pixels / 1e6:g} MP (--max-megapixels)"
        )
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None:
        raise NotAPicture(422, f"the {kind} file could not be decoded (corrupt or truncated)")
    if image.dtype not in (np.uint8, np.uint16):
        raise NotAPicture(422, f"{image.dtype} samples are not supported: send an 8- or 16-bit picture")
    if image.shape[0] * image.shape[1] > max_pixels:
        raise WebError(413, f"the picture decodes to more than {max_pixels / 1e6:g} MP (--max-megapixels)")
    return apply_orientation(image, exif_orientation(data))


# --- photos, their scores, and rendering ------------------------------------------------------------------------

@dataclass
class Photo:
    """One uploaded photo as the server keeps it between slider moves."""

    photo_id: str
    name: str
    data: bytes
    width: int
    height: int
    scores: np.ndarray
    preview: PreparedImage

    @property
    def nbytes(self) -> int:
        alpha = self.preview.alpha.nbytes if self.preview.alpha is not None else 0
        return len(self.data) + self.scores.nbytes + self.preview.lightness.nbytes + alpha


def preview_of(prepared: PreparedImage, longest_side: int) -> PreparedImage:
    """The photo's own L (and alpha) brought down to screen size, for renders that cost milliseconds."""
    height, width = prepared.lightness.shape
    factor = min(1.0, longest_side / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if factor == 1.0:
        return PreparedImage(prepared.lightness.copy(), None, prepared.alpha, prepared.dtype)
    lightness = cv2.resize(prepared.lightness, size, interpolation=cv2.INTER_AREA)
    alpha = None if prepared.alpha is None else cv2.resize(prepared.alpha, size, interpolation=cv2.INTER_AREA)
    return PreparedImage(lightness, None, alpha, prepared.dtype)


def display_name(name: str | None) -> str:
    """A harmless file name for Content-Disposition: the client's name is only ever a label, never a path."""
    base = re.split(r"[\\/]", name or "")[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", stem).strip(" ._")[:80]
    return cleaned or "photo"


class Renderer:
    """The colour work on top of a colorizer: scores from the network, then decode, upsample and compose."""

    def __init__(self, colorizer, default_temperature: float | None = None):
        self.colorizer = colorizer
        self.points = colorizer.points
        self.default_temperature = 1.0 / annealing_scale(default_temperature)
        self.default_saturation = colorizer.saturation
        self.default_upsample = colorizer.upsample.method
        self.default_scale = annealing_scale(default_temperature)

    def upsampling(self, method: str) -> Upsampling:
        base = self.colorizer.upsample
        return Upsampling(method, base.spatial_sigma, base.range_sigma)

    def scores(self, prepared: PreparedImage) -> np.ndarray:
        return self.colorizer.predict_scores([prepared])[0]

    def scale(self, settings: RenderSettings) -> float:
        """The annealing scale (1/T) of the settings, the server's default when they leave it out."""
        return self.default_scale if settings.temperature is None else annealing_scale(settings.temperature)

    def colour(self, settings: RenderSettings) -> ColourSettings:
        """How the settings compose the colour (saturation, upsampling), the server's defaults filling the gaps."""
        saturation = self.default_saturation if settings.saturation is None else check_saturation(settings.saturation)
        method = settings.upsample or self.default_upsample
        return ColourSettings(self.upsampling(method), saturation, self.colorizer.conversion)

    def render(self, prepared: PreparedImage, scores: np.ndarray, settings: RenderSettings) -> np.ndarray:
        return self.colour(settings).compose(prepared, annealed_mean(scores, self.points, self.scale(settings)))

    def grey(self, prepared: PreparedImage) -> np.ndarray:
        """The photo as the network sees it: its lightness alone."""
        return compose(prepared, np.zeros((1, 1, 2), np.float32), "bilinear", 1.0, self.colorizer.conversion)


def encode(image: np.ndarray, format_name: str, quality: int = DEFAULT_JPEG_QUALITY) -> bytes:
    if format_name == "png":
        return encode_image(image, ".png")
    ok, buffer = cv2.imencode(".jpg", fit_format(image, ".jpg"), [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ColorizationError("OpenCV could not encode a JPEG image")
    return buffer.tobytes()


class PhotoCache:
    """Photos by id, least recently used dropped first once their bytes pass the budget."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.photos: OrderedDict[str, Photo] = OrderedDict()
        self.lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return sum(photo.nbytes for photo in self.photos.values())

    def new_id(self) -> str:
        return secrets.token_urlsafe(18)

    def add(self, photo: Photo) -> None:
        with self.lock:
            self.photos[photo.photo_id] = photo
            total = self.nbytes
            while total > self.max_bytes and len(self.photos) > 1:
                _, dropped = self.photos.popitem(last=False)
                total -= dropped.nbytes

    def get(self, photo_id: str) -> Photo:
        if not PHOTO_ID.match(photo_id or ""):
            raise WebError(404, "no such photo")
        with self.lock:
            photo = self.photos.get(photo_id)
            if photo is None:
                raise WebError(410, "this photo is no longer in the server's memory: add it again")
            self.photos.move_to_end(photo_id)
            return photo

    def __len__(self) -> int:
        return len(self.photos)
