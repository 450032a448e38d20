"""The one colorization pipeline every script uses: image -> L -> network -> ab -> upsampled ab + original L -> image.

It is split into stages (`prepare`, `predict_ab`, `compose`) so that batch and video work can overlap decoding
with inference and batch the forward pass, while `Colorizer.colorize` runs them in order for one image.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .composition import CONVERSIONS, FULL_SCALE, compose
from .engines import load_network
from .errors import ColorizationError
from .model_files import ModelFiles
from .saturation import check_saturation
from .upsampling import DEFAULT_UPSAMPLE, Upsampling

DEFAULT_SIZE = 224
LIGHTNESS_OFFSET = 50.0
"""The net was trained on L - 50, i.e. lightness centred on zero."""


@dataclass
class PreparedImage:
    """What the pipeline keeps of an input between the stages: its full-resolution L and what goes back on top."""

    lightness: np.ndarray
    network_input: np.ndarray
    alpha: np.ndarray | None
    dtype: np.dtype


def check_size(size: int) -> int:
    if size < 32 or size % 8:
        raise ColorizationError(f"--size must be a multiple of 8 of at least 32 (the net halves it three times), got {size}")
    return size


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
    network_input = cv2.cvtColor(small, cv2.COLOR_BGR2Lab)[:, :, 0] - LIGHTNESS_OFFSET
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
    return cv2.extractChannel(cv2.cvtColor(cv2.merge([levels, levels, levels]).reshape(1, 256, 3), cv2.COLOR_BGR2Lab), 0)


def prepare_fast(image: np.ndarray, size: int = DEFAULT_SIZE) -> PreparedImage:
    """`prepare` without the full-size float picture for grey 8-bit inputs (the same L, looked up per grey level)."""
    grey = grey_levels(image)
    if grey is None:
        return prepare(image, size)
    alpha = image[:, :, -1].copy() if image.ndim == 3 and image.shape[2] in (2, 4) else None
    lightness = cv2.LUT(grey, grey_lightness_table())
    small = cv2.resize(to_unit_float(grey), (size, size))
    network_input = cv2.extractChannel(cv2.cvtColor(cv2.merge([small, small, small]), cv2.COLOR_BGR2Lab), 0) - LIGHTNESS_OFFSET
    return PreparedImage(lightness, network_input, alpha, image.dtype)


class Colorizer:
    """The public API: build once (loading the network is the slow part), then colorize many arrays.

    >>> colorizer = Colorizer.from_model_dir("models")
    >>> colour = colorizer.colorize(cv2.imread("grandpa.jpg"))
    """

    def __init__(
        self,
        network,
        size: int = DEFAULT_SIZE,
        upsample: "str | Upsampling" = DEFAULT_UPSAMPLE,
        saturation: float = 1.0,
        conversion: str = "reference",
    ):
        self.network = network
        self.size = check_size(size)
        self.upsample = Upsampling.of(upsample)
        self.saturation = check_saturation(saturation)
        if conversion not in CONVERSIONS:
            raise ColorizationError(f"unknown conversion {conversion!r}: choose one of {', '.join(CONVERSIONS)}")
        self.conversion = conversion

    @classmethod
    def from_model_dir(
        cls,
        model_dir=None,
        *,
        prototxt=None,
        caffemodel=None,
        points=None,
        variant: str = "release",
        backend: str = "auto",
        engine: str = "auto",
        temperature: float | None = None,
        size: int = DEFAULT_SIZE,
        upsample: "str | Upsampling" = DEFAULT_UPSAMPLE,
        saturation: float = 1.0,
        conversion: str = "reference",
    ) -> "Colorizer":
        files = ModelFiles.resolve(model_dir, prototxt, caffemodel, points, variant)
        return cls(load_network(files, engine, backend, temperature, check_size(size)), size, upsample, saturation, conversion)

    @property
    def backend(self) -> str:
        return self.network.device

    @property
    def engine(self) -> str:
        return self.network.describe()

    def prepare(self, image: np.ndarray) -> PreparedImage:
        return prepare_fast(image, self.size) if self.conversion == "fast" else prepare(image, self.size)

    def predict_ab(self, prepared: list[PreparedImage]) -> list[np.ndarray]:
        """One forward pass for a batch; each result is the (size/4, size/4, 2) annealed-mean ab."""
        blob = np.stack([p.network_input for p in prepared])[:, None, :, :]
        output = self.network.forward(blob)
        return [np.ascontiguousarray(item.transpose(1, 2, 0)) for item in output]

    def compose(self, prepared: PreparedImage, ab: np.ndarray) -> np.ndarray:
        return compose(prepared, ab, self.upsample, self.saturation, self.conversion)

    def colorize(self, image: np.ndarray) -> np.ndarray:
        """A uint8/uint16 (or [0, 1] float32) BGR, BGRA, grey or grey+alpha array in, its colorized BGR(A) out."""
        prepared = self.prepare(image)
        return self.compose(prepared, self.predict_ab([prepared])[0])
