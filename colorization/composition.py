"""The full-resolution colour work: the net's coarse ab brought to the picture's size, joined with the picture's own
L and turned back into BGR of its sample type.

It is done in bands of rows written into the one output array, so no full-size float picture is ever made: a band's
ab, Lab and BGR stay in the CPU cache, and a 100 MP scan needs little more memory than its output. Every step is
worked pixel by pixel in a way that does not depend on where a band starts, so the bands join seamlessly and the
result is bit for bit the whole picture's (tests/test_composition.py). What needs the whole picture (guided
upsampling's colour grid and its back-projection) is made once at its working size, at most
upsampling.MAX_WORKING_PIXELS; only the last bilinear step to full size is banded, with the arithmetic of
cv2.resize so that reference mode stays exactly OpenCV's sample.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from .errors import ColorizationError
from .preparation import FULL_SCALE, PreparedImage
from .saturation import fit_in_gamut
from .upsampling import DEFAULT_UPSAMPLE, Upsampling, guided_grid

CONVERSIONS = ("reference", "fast")
"""How the full-resolution colour work is done: `reference` literally as OpenCV's sample (float all the way);
`fast` for 8-bit inputs takes the same values from a 256-entry lightness table when the picture is grey and rounds
to 8 bits in one OpenCV pass: a few pixels per picture differ by 1 grey level (rounding ties), for less than half
the full-size colour work (benchmarks/batch_benchmark.py --stages)."""
GUIDED_NEEDS_LIGHTNESS = "guided upsampling needs the full-resolution L of the picture"


def check_conversion(conversion: str) -> str:
    if conversion not in CONVERSIONS:
        raise ColorizationError(f"unknown conversion {conversion!r}: choose one of {', '.join(CONVERSIONS)}")
    return conversion


BAND_PIXELS = 1 << 16
"""Pixels per band: its float L, a, b and BGR (a few hundred KB) stay in a core's L2 cache between the steps."""


def from_unit_float(image: np.ndarray, dtype: np.dtype, conversion: str = "reference") -> np.ndarray:
    """Clip to [0, 1] and round to the input's sample type, so 16 bits in gives 16 bits out.

    Works in `image`'s own buffer (the caller's temporary), which keeps the values of clip(image * full + 0.5)
    exactly while sparing two fresh float buffers."""
    if conversion == "fast" and dtype == np.uint8:
        # OpenCV's Lab2BGR already clips to [0, 1]; one pass rounding half to even instead of half up.
        return cv2.convertScaleAbs(image, alpha=255.0)
    if dtype == np.float32:
        return np.clip(image, 0.0, 1.0)
    full = np.float32(FULL_SCALE[np.dtype(dtype)])
    np.multiply(image, full, out=image)
    np.add(image, np.float32(0.5), out=image)
    np.clip(image, 0.0, full, out=image)
    return image.astype(dtype)


def colour_grid(ab: np.ndarray, lightness: np.ndarray | None, upsampling: Upsampling) -> np.ndarray:
    """The ab that a bilinear resize brings to full size: the net's own for bilinear, the guided colour for guided."""
    if upsampling.method == "bilinear":
        return np.asarray(ab, np.float32)
    if lightness is None:
        raise ColorizationError(GUIDED_NEEDS_LIGHTNESS)
    return guided_grid(ab, lightness, upsampling.spatial_sigma, upsampling.range_sigma)


def upsample_ab(
    ab: np.ndarray, width: int, height: int, method: str | Upsampling = "bilinear", lightness: np.ndarray | None = None
) -> np.ndarray:
    """The 1/4-resolution ab prediction brought to the image's size as one full-size array (for measuring methods;
    `compose` does the same in bands): bilinear is the reference everyone uses, guided follows the edges of the
    full-resolution `lightness` (see colorization/upsampling.py)."""
    upsampling = Upsampling.of(method)
    if upsampling.method == "guided" and lightness is not None and lightness.shape != (height, width):
        raise ColorizationError(GUIDED_NEEDS_LIGHTNESS)
    grid = colour_grid(ab, lightness, upsampling)
    if grid.shape[:2] == (height, width):
        return grid
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)


class BandedResize:
    """cv2.resize(grid, (width, height), INTER_LINEAR) one band of rows at a time, bit for bit: OpenCV resizes each
    grid row to full width on its own, then blends two of those rows per output row with float weights from the same
    formula as here, so a band needs only the few grid rows under it."""

    def __init__(self, grid: np.ndarray, width: int, height: int):
        self.grid, self.width = grid, width
        position = ((np.arange(height) + 0.5) * (1.0 / (height / grid.shape[0])) - 0.5).astype(np.float32)
        before = np.floor(position)
        self.lower_weight = (position - before)[:, None]
        self.upper_weight = np.float32(1) - self.lower_weight
        self.upper = np.clip(before.astype(np.intp), 0, grid.shape[0] - 1)
        self.lower = np.clip(before.astype(np.intp) + 1, 0, grid.shape[0] - 1)

    def band(self, rows: slice) -> list[np.ndarray]:
        """The a and b planes of these output rows, each (rows, width) and contiguous."""
        first, last = self.upper[rows.start], self.lower[rows.stop - 1] + 1
        source = self.grid[first:last]
        if source.shape[1] != self.width:
            source = cv2.resize(source, (self.width, last - first), interpolation=cv2.INTER_LINEAR)
        bands = []
        for channel in (0, 1):
            plane = np.ascontiguousarray(source[:, :, channel])
            upper = plane[self.upper[rows] - first]
            upper *= self.upper_weight[rows]
            lower = plane[self.lower[rows] - first]
            lower *= self.lower_weight[rows]
            upper += lower
            bands.append(upper)
        return bands


def compose(
    prepared: PreparedImage,
    ab: np.ndarray,
    upsample: str | Upsampling = DEFAULT_UPSAMPLE,
    saturation: float = 1.0,
    conversion: str = "reference",
    band_pixels: int = BAND_PIXELS,
) -> np.ndarray:
    """Join the upsampled ab with the ORIGINAL full-resolution L, back to BGR in the input's sample type.

    Colour outside sRGB is brought inside at the pixel's own L and hue (less chroma) in guided mode and whenever
    the saturation is changed; reference mode at saturation 1 clips R, G and B as OpenCV's sample does."""
    upsampling = Upsampling.of(upsample)
    lightness = prepared.lightness
    height, width = lightness.shape
    resize = BandedResize(colour_grid(ab, lightness, upsampling), width, height)
    keep_lightness = upsampling.method == "guided" or saturation != 1
    channels = 3 if prepared.alpha is None else 4
    output = np.empty((height, width, channels), prepared.dtype)
    rows_per_band = max(1, band_pixels // max(1, width))

    def compose_band(top: int) -> None:
        rows = slice(top, min(top + rows_per_band, height))
        a, b = resize.band(rows)
        if keep_lightness:
            a, b = fit_in_gamut(lightness[rows], a, b, saturation)
        bgr = cv2.cvtColor(cv2.merge([lightness[rows], a, b]), cv2.COLOR_Lab2BGR)
        output[rows, :, :3] = from_unit_float(bgr, prepared.dtype, conversion)

    # Bands are independent and NumPy and OpenCV release the GIL: a large picture's bands take every core.
    with ThreadPoolExecutor(max(1, cv2.getNumThreads())) as workers:
        list(workers.map(compose_band, range(0, height, rows_per_band)))
    if prepared.alpha is not None:
        output[:, :, 3] = prepared.alpha
    return output
