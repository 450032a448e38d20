"""The first stage of the pipeline: a picture's full-resolution L, the network's input and what goes back on top
(alpha, sample type), made once per picture and kept until the composition (colorization.composition) needs them.

It needs no network, so processes without one (Ray tasks, the web page's previews) run it too.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ColorizationError
from .model import DEFAULT_SIZE, LightnessNormalisation

FULL_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}
"""The largest sample of each integer sample type: what 1.0 is in the [0, 1] floats the colour work uses."""


@dataclass
class PreparedImage:
    """What the pipeline keeps of an input between the stages: its full-resolution L and what goes back on top."""

    lightness_or_grey: np.ndarray
    """L as float32; or, from prepare_fast, the 8-bit grey levels that give it through a 256-entry table: a quarter
    of the memory while a 12-megapixel scan waits between the stages."""
    network_input: np.ndarray | None
    """L - 50 at the network's size; None in a screen-size copy that only re-renders kept scores (web/photos.py)."""
    alpha: np.ndarray | None
    dtype: np.dtype

    @property
    def lightness(self) -> np.ndarray:
        """Full-resolution L, float32 (made from the grey levels each time it is asked for, where those are kept)."""
        if self.lightness_or_grey.dtype == np.float32:
            return self.lightness_or_grey
        return cv2.LUT(self.lightness_or_grey, grey_lightness_table())


def split_alpha(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The colour (or grey) part as 3-channel BGR and the alpha channel, if any, left exactly as it was."""
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR), None
    channels = image.shape[2]
    if channels == 1:
        return cv2.cvtColor(image[:, :, 0], cv2.COLOR_GRAY2BGR), None
    if channels == 2:
        return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR), image[:, :, 1].copy()
    if channels == 3:
        return image, None
    if channels == 4:
        return np.ascontiguousarray(image[:, :, :3]), image[:, :, 3].copy()
    raise ColorizationError(f"images with {channels} channels are not supported")


def to_unit_float(image: np.ndarray) -> np.ndarray:
    """Samples as float32 in [0, 1], scaled in place: on 12 MP pictures a second fresh buffer costs more in page
    faults than the arithmetic."""
    if image.dtype in FULL_SCALE:
        unit = image.astype(np.float32)
        unit *= np.float32(1.0 / FULL_SCALE[image.dtype])
        return unit
    if image.dtype == np.float32:
        return image
    raise ColorizationError(f"images of {image.dtype} samples are not supported: use 8- or 16-bit images")


def prepare(image: np.ndarray, size: int = DEFAULT_SIZE) -> PreparedImage:
    """Full-resolution L, and the network input the way OpenCV's sample makes it (resize RGB, then Lab)."""
    colour, alpha = split_alpha(image)
    unit = to_unit_float(colour)
    lightness = cv2.extractChannel(cv2.cvtColor(unit, cv2.COLOR_BGR2Lab), 0)
    small = cv2.resize(unit, (size, size))
    network_input = LightnessNormalisation.network_input(cv2.cvtColor(small, cv2.COLOR_BGR2Lab)[:, :, 0])
    return PreparedImage(lightness, network_input, alpha, image.dtype)


def grey_levels(image: np.ndarray) -> np.ndarray | None:
    """The one grey channel of an 8-bit grey picture (also stored as equal B, G, R), or None for a colour one."""
    if image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        return image
    if image.shape[2] in (1, 2):
        return np.ascontiguousarray(image[:, :, 0])
    blue, green, red = cv2.split(image)[:3]
    if cv2.countNonZero(cv2.absdiff(blue, green)) or cv2.countNonZero(cv2.absdiff(blue, red)):
        return None
    return blue


def grey_lightness_table() -> np.ndarray:
    """L of each 8-bit grey level, computed by the very conversion `prepare` applies to a whole picture."""
    levels = to_unit_float(np.arange(256, dtype=np.uint8))
    return cv2.extractChannel(
        cv2.cvtColor(cv2.merge([levels, levels, levels]).reshape(1, 256, 3), cv2.COLOR_BGR2Lab), 0
    )


def prepare_fast(image: np.ndarray, size: int = DEFAULT_SIZE) -> PreparedImage:
    """`prepare` without the full-size float picture for grey 8-bit inputs (the same L, looked up per grey level)."""
    grey = grey_levels(image)
    if grey is None:
        return prepare(image, size)
    alpha = image[:, :, -1].copy() if image.ndim == 3 and image.shape[2] in (2, 4) else None
    small = cv2.resize(to_unit_float(grey), (size, size))
    network_input = LightnessNormalisation.network_input(
        cv2.extractChannel(cv2.cvtColor(cv2.merge([small, small, small]), cv2.COLOR_BGR2Lab), 0)
    )
    return PreparedImage(grey, network_input, alpha, image.dtype)


def prepare_for(image: np.ndarray, size: int, conversion: str) -> PreparedImage:
    """The prepare stage a conversion asks for; needs no network, so processes without one (Ray tasks) run it too."""
    return prepare_fast(image, size) if conversion == "fast" else prepare(image, size)
