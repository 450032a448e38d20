"""What the web server keeps of each photo, and rendering it again with new settings without the network.

A photo is kept as its uploaded bytes (the smallest faithful form, decoded again for a full-size download), the
network's 313-bin scores (resolution independent: a new vividness is a new annealed mean of them) and a
screen-sized lightness for previews. Everything lives in memory, in an LRU cache bounded in bytes.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np
from fastapi import Query

from ..composition import compose
from ..errors import ColorizationError
from ..hint_spreading import apply_hints
from ..hints import MAX_HINTS, Hint, HintError, check_inside, hints_from_json, hints_from_list
from ..image_io import encode_image, fit_format
from ..model import TEMPERATURE_RANGE, annealed_mean, annealing_scale
from ..pipeline import ColourSettings
from ..preparation import PreparedImage
from ..saturation import SATURATION_RANGE, check_saturation
from ..upsampling import UPSAMPLE_METHODS, Upsampling
from .errors import WebError

FORMATS = {"jpeg": (".jpg", "image/jpeg"), "png": (".png", "image/png")}
DEFAULT_JPEG_QUALITY = 95
PREVIEW_JPEG_QUALITY = 88
PHOTO_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

TEMPERATURE = Query(
    None, description="annealed-mean temperature, 0.01-10: lower is more vivid (default: the release's 0.38)"
)
SATURATION = Query(None, description="chroma factor, 0-4, kept inside sRGB: 0 is grey, 1 as predicted (default 1)")
UPSAMPLE = Query(None, description="guided (colour follows the photo's edges, the default) or bilinear")
FORMAT = Query(None, description="jpeg (default) or png")
QUALITY = Query(None, description="JPEG quality, 1-100 (default 95)")
HINTS = Query(
    None,
    description=f'colour hints as JSON, the hints files\' list: [{{"x": 120, "y": 340, "colour": "#b22222"}}] '
    f'(pixels of the upright photo, or fractions 0-1 written with a decimal point; optional "radius"), at most {MAX_HINTS}',
)
"""The query parameters of the photo endpoints, as /docs describes them: checked by RenderSettings.parse and
parse_format below, so that a bad value is a 400 naming its range, not FastAPI's own error."""


@dataclass(frozen=True)
class RenderSettings:
    """The live controls: annealed-mean temperature, chroma factor, upsampling method (None is the server's default),
    and the colour hints (positions in pixels of the upright photo, or fractions of it)."""

    temperature: float | None = None
    saturation: float | None = None
    upsample: str | None = None
    hints: tuple[Hint, ...] = ()

    @classmethod
    def parse(cls, temperature=None, saturation=None, upsample=None, hints=None) -> RenderSettings:
        """Query-string values checked into settings; a bad one is a 400 that names the allowed range."""
        parsed_temperature = (
            None if temperature in (None, "") else parse_number("temperature", temperature, *TEMPERATURE_RANGE)
        )
        parsed_saturation = (
            None if saturation in (None, "") else parse_number("saturation", saturation, *SATURATION_RANGE)
        )
        method = None if upsample in (None, "") else str(upsample)
        if method is not None and method not in UPSAMPLE_METHODS:
            raise WebError(400, f"upsample must be one of {', '.join(UPSAMPLE_METHODS)}, got {method[:20]!r}")
        return cls(parsed_temperature, parsed_saturation, method, parse_hints(hints))

    def check_fits(self, width: int, height: int) -> None:
        """Refuse hints outside a photo of this size: a 400 naming the hint and the photo's size."""
        try:
            check_inside(self.hints, width, height)
        except HintError as error:
            raise WebError(400, f"hints: {error}") from None


def parse_hints(value) -> tuple[Hint, ...]:
    """The `hints` of a request: JSON text (a query parameter or form field) or, inside a JSON body, the list itself;
    a bad one is a 400 with HintError's line (what is wrong, and with which hint)."""
    if value in (None, ""):
        return ()
    try:
        return tuple(hints_from_json(value) if isinstance(value, (str, bytes)) else hints_from_list(value))
    except HintError as error:
        raise WebError(400, str(error)) from None


def parse_number(name: str, value, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
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
    except (TypeError, ValueError, OverflowError):
        raise WebError(400, f"quality must be a whole number from 1 to 100, got {str(quality)[:20]!r}") from None
    if not 1 <= level <= 100:
        raise WebError(400, f"quality must be a whole number from 1 to 100, got {level}")
    return name, level


class RenderQuery:
    """The query parameters of a full-size render (POST /api/colorize, a photo's download), as FastAPI hands them
    to an endpoint that takes `query: RenderQuery = Depends()`; `parsed` checks them when the endpoint asks."""

    def __init__(
        self,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
        format: Optional[str] = FORMAT,
        quality: Optional[str] = QUALITY,
        hints: Optional[str] = HINTS,
    ):
        self.temperature, self.saturation, self.upsample = temperature, saturation, upsample
        self.format, self.quality, self.hints = format, quality, hints

    def parsed(self) -> tuple[RenderSettings, str, int]:
        """The render settings, the format's name and its quality level (400 for a bad one)."""
        render_settings = RenderSettings.parse(self.temperature, self.saturation, self.upsample, self.hints)
        return (render_settings, *parse_format(self.format, self.quality))


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

    def render(
        self,
        prepared: PreparedImage,
        scores: np.ndarray,
        settings: RenderSettings,
        picture_size: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """The colour picture of `prepared` (the photo at full size, or its preview: then `picture_size` is the
        photo's own width and height, which the hints' pixels refer to)."""
        ab = annealed_mean(scores, self.points, self.scale(settings))
        ab = apply_hints(ab, settings.hints, prepared.lightness, picture_size)
        return self.colour(settings).compose(prepared, ab)

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
