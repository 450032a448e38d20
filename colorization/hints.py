"""Colour hints: the colours a user knows ("the dress was red"), given as points on the picture.

A hint is a point and a colour: `120,340,#b22222` (pixels of the upright picture, counted from its top-left
corner) or `0.5,0.1,skyblue` (fractions of its width and height: both numbers at most 1 and written with a decimal
point). Only the hue and chroma of the colour count, its lightness is the photo's own (colorization.hint_spreading
says how a hint spreads). They come from the command line, a JSON file (a list of {"x", "y", "colour"} with an
optional "radius"), a sidecar PHOTO.hints.json beside a photo, or Python. Every mistake is a HintError whose
message is one line naming the hint, so that it is refused before any model loads.
"""

from __future__ import annotations

import difflib
import json
import math
import numbers
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import ImageColor

from .errors import UsageError
from .paths import display_path

MAX_HINTS = 1000
"""More would be a painting rather than hints; at this many a re-render still takes a fraction of a second."""
MAX_FILE_BYTES = 1 << 20
"""A hints file holding MAX_HINTS hints is about 60 KB; anything far larger is not one."""
SIDECAR_SUFFIX = ".hints.json"
HEX_COLOUR = re.compile(r"#(?:[0-9a-f]{6}|[0-9a-f]{3})")
COLOUR_EXAMPLES = "#rrggbb (e.g. #b22222) or a CSS colour name (e.g. skyblue)"
FILE_KEYS = ("x", "y", "colour", "radius")


class HintError(UsageError):
    """A hint that cannot be used: bad text, bad colour, outside the picture, too many."""


def css_colours() -> dict[str, str]:
    """The 148 named colours of CSS (Color Module Level 4), name to #rrggbb: Pillow's table, which is that list
    (ImageColor.getrgb caches (r, g, b) tuples into it, so those are written back as #rrggbb)."""
    return {
        name: value if isinstance(value, str) else "#{:02x}{:02x}{:02x}".format(*value[:3])
        for name, value in ImageColor.colormap.items()
    }


def parse_colour(text: str) -> str:
    """`#rrggbb`, `#rgb` or a CSS colour name (any case) as `#rrggbb` in lower case."""
    colour = str(text).strip().lower()
    if HEX_COLOUR.fullmatch(colour):
        return colour if len(colour) == 7 else "#" + "".join(digit * 2 for digit in colour[1:])
    if colour in css_colours():
        return css_colours()[colour]
    close = difflib.get_close_matches(colour, css_colours(), n=1)
    suggestion = f" (did you mean {close[0]}?)" if close and not colour.startswith("#") else ""
    raise HintError(f"{str(text)[:40]!r} is not a colour{suggestion}: give {COLOUR_EXAMPLES}")


@lru_cache(maxsize=4096)
def colour_ab(colour: str) -> tuple[float, float]:
    """The a and b of a `#rrggbb` colour in CIE Lab, by the conversion the pipeline uses for pictures."""
    red, green, blue = (int(colour[index : index + 2], 16) for index in (1, 3, 5))
    pixel = np.array([[[blue, green, red]]], np.float32) / np.float32(255)
    lab = cv2.cvtColor(pixel, cv2.COLOR_BGR2Lab)[0, 0]
    return float(lab[1]), float(lab[2])


def is_number(value) -> bool:
    """A finite real number (NumPy's too), not a truth value."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)


@dataclass(frozen=True)
class Hint:
    """A colour at a point of the upright picture: x, y in pixels from its top-left corner, or with
    `fraction=True` in fractions (0 to 1) of its width and height. `radius`, in the same unit (a fraction of the
    picture's longer side for fractional hints), limits how far the colour spreads: it counts half at that
    distance; without it the colour fills the region around the point as far as the picture's edges let it.
    The colour is kept as `#rrggbb`; only its hue and chroma are used."""

    x: float
    y: float
    colour: str
    radius: float | None = None
    fraction: bool = False

    def __post_init__(self):
        for name in ("x", "y"):
            value = getattr(self, name)
            if not is_number(value) or value < 0:
                raise HintError(f"{name} must be a number of at least 0, got {value!r}")
            if self.fraction and value > 1:
                raise HintError(f"{name} as a fraction of the picture runs from 0 to 1, got {value!r}")
        if self.radius is not None and not (is_number(self.radius) and self.radius > 0):
            raise HintError(f"radius must be a number greater than 0, got {self.radius!r}")
        object.__setattr__(self, "colour", parse_colour(self.colour))

    def __str__(self) -> str:
        radius = "" if self.radius is None else f" (radius {self.radius:g})"
        return f"{self.x:g},{self.y:g},{self.colour}{radius}"

    @property
    def ab(self) -> tuple[float, float]:
        return colour_ab(self.colour)

    def place(self, width: int, height: int) -> tuple[float, float]:
        """Where the hint is, as fractions of a picture `width` x `height` (a pixel counts by its centre)."""
        if self.fraction:
            return float(self.x), float(self.y)
        if self.x >= width or self.y >= height:
            raise HintError(
                f"hint {self} is outside the picture, which is {width}x{height} pixels (x 0 to {width - 1}, "
                f"y 0 to {height - 1}); or give fractions such as 0.5,0.25"
            )
        return (self.x + 0.5) / width, (self.y + 0.5) / height

    def radius_fraction(self, width: int, height: int) -> float | None:
        """The radius as a fraction of the picture's longer side."""
        if self.radius is None:
            return None
        return float(self.radius) if self.fraction else self.radius / max(width, height)


def is_fraction_text(text: str) -> bool:
    """The command line's rule: a number is a fraction when it is written with a decimal point and is at most 1."""
    return "." in text and float(text) <= 1


def parse_number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise HintError(f"{what} {text[:20]!r} is not a number") from None
    if not math.isfinite(value):  # 'inf', 'nan', or 400 digits
        raise HintError(f"{what} must be a number of at least 0, got {text[:20]!r}")
    return int(value) if re.fullmatch(r"[+-]?\d+", text) else value


def parse_hint(text: str) -> Hint:
    """`X,Y,COLOUR` as the command line takes it: pixels, or fractions when both X and Y are at most 1 with a
    decimal point; COLOUR as parse_colour takes it."""
    parts = [part.strip() for part in str(text).split(",")]
    if len(parts) != 3 or not all(parts):
        raise HintError("not X,Y,COLOUR: e.g. 120,340,#b22222 (pixels) or 0.5,0.1,skyblue (fractions)")
    x, y = (parse_number(part, name) for part, name in zip(parts, "xy"))
    fraction = is_fraction_text(parts[0]) and is_fraction_text(parts[1])
    return Hint(x, y, parts[2], fraction=fraction)


def hint_from_entry(entry, index: int) -> Hint:
    """One {"x", "y", "colour", "radius"} object of a hints file; `color` is taken for `colour` too. Numbers follow
    the command line's rule: fractions when both are at most 1 and written with a decimal point (0.5, 1.0)."""
    where = f"hint {index + 1}"
    if not isinstance(entry, dict):
        raise HintError(
            f'{where}: expected an object like {{"x": 120, "y": 340, "colour": "#b22222"}}, got {json.dumps(entry)[:40]}'
        )
    entry = dict(entry)
    if "color" in entry:
        if "colour" in entry:
            raise HintError(f"{where}: give colour or color, not both")
        entry["colour"] = entry.pop("color")
    unknown = sorted(set(entry) - set(FILE_KEYS))
    if unknown:
        raise HintError(f"{where}: unknown key {unknown[0]!r} (a hint has {', '.join(FILE_KEYS)})")
    missing = [key for key in ("x", "y", "colour") if key not in entry]
    if missing:
        raise HintError(f"{where}: no {missing[0]!r} (a hint has x, y, colour and optionally radius)")
    x, y, colour, radius = entry["x"], entry["y"], entry["colour"], entry.get("radius")
    if not isinstance(colour, str):
        raise HintError(f"{where}: colour must be text, {COLOUR_EXAMPLES}")
    fraction = all(isinstance(value, float) and value <= 1 for value in (x, y))
    try:
        return Hint(x, y, colour, radius, fraction)
    except HintError as error:
        raise HintError(f"{where}: {error}") from None


def hints_from_json(text: str | bytes, source: str = "hints") -> list[Hint]:
    """A JSON list of hint objects (the --hints file, a sidecar, the web's `hints` field), at most MAX_HINTS."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise HintError(f"{source} is not a list of hints: its JSON nests too deep") from None
    except (ValueError, UnicodeDecodeError) as error:
        detail = (
            f"line {error.lineno} column {error.colno}: {error.msg}"
            if isinstance(error, json.JSONDecodeError)
            else str(error)
        )
        raise HintError(f"{source} is not valid JSON ({detail})") from None
    return hints_from_list(data, source)


def hints_from_list(data, source: str = "hints") -> list[Hint]:
    """The hint objects of JSON already parsed (the web's ZIP request holds each photo's hints as a list)."""
    if not isinstance(data, list):
        raise HintError(f'{source} must be a JSON list of hints, e.g. [{{"x": 120, "y": 340, "colour": "#b22222"}}]')
    check_count(len(data), source)
    try:
        return [hint_from_entry(entry, index) for index, entry in enumerate(data)]
    except HintError as error:
        raise HintError(f"{source}: {error}") from None


def check_count(count: int, source: str = "hints") -> None:
    if count > MAX_HINTS:
        raise HintError(
            f"{source}: {count} hints, more than the {MAX_HINTS} allowed: a few well-placed hints colour whole regions"
        )


def read_hints(path: Path) -> list[Hint]:
    """The hints of a JSON file, refusing a file too large to be one before reading it; a pipe (--hints <(...)) is
    read as cat would, and refused as soon as it passes that size (/dev/zero never ends)."""
    shown = display_path(Path(path))
    too_large = f"a hints file holds at most {MAX_HINTS} hints (well under {MAX_FILE_BYTES >> 20} MB)"
    try:
        size = Path(path).stat().st_size
        if size > MAX_FILE_BYTES:
            raise HintError(f"{shown} is {size / 1e6:.1f} MB: {too_large}")
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
        if len(data) > MAX_FILE_BYTES:
            raise HintError(f"{shown} holds more than {MAX_FILE_BYTES >> 20} MB: {too_large}")
    except OSError as error:
        raise HintError(f"{shown}: cannot read the hints ({error.strerror or error})") from None
    return hints_from_json(data, shown)


def sidecar_path(picture: Path) -> Path:
    """Where a picture's own hints live: PHOTO.hints.json beside PHOTO.jpg."""
    return picture.with_name(picture.stem + SIDECAR_SUFFIX)


def check_inside(hints, width: int, height: int) -> None:
    """Refuse a hint outside a picture of this size (raises HintError naming it)."""
    for hint in hints:
        hint.place(width, height)


def check_fits(hints, picture: Path) -> None:
    """Refuse hints outside this picture file, its size read from the header (a header that cannot be read that
    way is left to the colorization, which checks again)."""
    from .image_io import upright_size

    size = upright_size(picture) if hints else None
    if size is not None:
        try:
            check_inside(hints, *size)
        except HintError as error:
            raise HintError(f"{display_path(Path(picture))}: {error}") from None
