"""Bringing the net's coarse ab (56x56 for a 224 input) to the picture's full size.

`bilinear` is what OpenCV's sample and the authors' demo do: exact reference mode, but each colour cell bleeds
across the edges inside it (a sky's blue over a roof line, skin tone over a collar). `guided` is joint bilateral
upsampling (Kopf et al., SIGGRAPH 2007) steered by the full-resolution L: every pixel takes the ab of the four
colour cells around it, weighted by distance as bilinear does, and also by how close each cell's mean lightness is
to the pixel's own, so colour stops where the lightness has an edge; one back-projection step then makes each
cell's average colour the predicted one again. benchmarks/upsampling_quality.py measures both (and the
alternatives we tried) against the true colour of real photos.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import cv2
import numpy as np

from .errors import ColorizationError

UPSAMPLE_METHODS = ("bilinear", "guided")
DEFAULT_UPSAMPLE = "guided"
"""Chosen on benchmarks/upsampling_quality.py: +1.4 dB ab PSNR over bilinear on every photo, for ~0.3 s per 12 MP."""
DEFAULT_SPATIAL_SIGMA = 0.5
"""Spatial falloff in colour cells (one cell = 4 pixels of the net's input); 0.5 keeps to the four nearest cells."""
DEFAULT_RANGE_SIGMA = 8.0
"""Lightness falloff in L units (0..100): a cell 8 L darker or brighter than the pixel counts e^-0.5 as much."""
SPATIAL_SIGMA_RANGE, RANGE_SIGMA_RANGE = (0.01, 100.0), (0.01, 1000.0)
"""Beyond these the weights are those of the ends already (the nearest cell alone, or bilinear)."""
STRIP_ROWS = 64
"""Rows worked on at a time, so each pass stays in the CPU cache on 12 MP pictures."""
MAX_WORKING_PIXELS = 3_000_000
"""Larger pictures get their colour at a 2x (3x, ...) smaller size, then resized: the eye sees colour much more
coarsely than lightness (JPEG keeps colour at half resolution) and L stays full, while the cost stays bounded.
On the benchmark's photos, colour at half size scores the same as at full size."""


@dataclass(frozen=True)
class Upsampling:
    """A method with its strength settings, checked once so a bad value is a usage error, not a crash mid-batch."""

    method: str = DEFAULT_UPSAMPLE
    spatial_sigma: float = DEFAULT_SPATIAL_SIGMA
    range_sigma: float = DEFAULT_RANGE_SIGMA

    def __post_init__(self):
        if self.method not in UPSAMPLE_METHODS:
            raise ColorizationError(
                f"unknown upsampling method {self.method!r}: choose one of {', '.join(UPSAMPLE_METHODS)}"
            )
        for option, value, (low, high) in (
            ("--guided-spatial-sigma", self.spatial_sigma, SPATIAL_SIGMA_RANGE),
            ("--guided-range-sigma", self.range_sigma, RANGE_SIGMA_RANGE),
        ):
            if not low <= value <= high:  # NaN fails this too
                raise ColorizationError(f"{option} must be from {low:g} to {high:g}, got {value}")

    @classmethod
    def of(cls, setting: str | Upsampling) -> Upsampling:
        return setting if isinstance(setting, Upsampling) else cls(setting)


def cells_before(size: int, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """For each full-resolution row (or column): the cell whose centre is at or before it, indexed in a grid padded
    by one cell each side, and how far past that centre it lies in cells; the alignment cv2.resize uses."""
    position = (np.arange(size, dtype=np.float64) + 0.5) * (cells / size) - 0.5
    before = np.floor(position)
    return before.astype(np.intp) + 1, (position - before).astype(np.float32)


def guided_grid(ab, lightness: np.ndarray, spatial_sigma: float, range_sigma: float) -> np.ndarray:
    """The guided colour at its working size: the picture's own up to MAX_WORKING_PIXELS, else a few times smaller,
    so that bringing it to full size is a plain bilinear resize that can be done in bands."""
    height, width = lightness.shape
    reduction = math.ceil(math.sqrt(height * width / MAX_WORKING_PIXELS))
    if reduction == 1:
        return joint_bilateral_upsample(ab, lightness, spatial_sigma, range_sigma)
    working = (math.ceil(width / reduction), math.ceil(height / reduction))
    return joint_bilateral_upsample(
        ab, cv2.resize(lightness, working, interpolation=cv2.INTER_AREA), spatial_sigma, range_sigma
    )


def joint_bilateral_upsample(
    ab: np.ndarray, lightness: np.ndarray, spatial_sigma: float, range_sigma: float
) -> np.ndarray:
    """The method itself at the size of `lightness`; worked in strips of rows, on threads, to keep 12 MP affordable."""
    ab = np.asarray(ab, np.float32)
    height, width = lightness.shape
    cells_high, cells_wide = ab.shape[:2]
    cell_lightness = cv2.resize(lightness, (cells_wide, cells_high), interpolation=cv2.INTER_AREA)
    planes = [
        cv2.copyMakeBorder(np.ascontiguousarray(plane, np.float32), 1, 1, 1, 1, cv2.BORDER_REPLICATE)
        for plane in (cell_lightness, ab[:, :, 0], ab[:, :, 1])
    ]
    rows, row_offsets = cells_before(height, cells_high)
    columns, column_offsets = cells_before(width, cells_wide)
    spatial_scale = np.float32(-0.5 / spatial_sigma**2)
    row_weights = [np.exp(spatial_scale * (row_offsets - step) ** 2)[:, None] for step in (0, 1)]
    column_weights = [np.exp(spatial_scale * (column_offsets - step) ** 2) for step in (0, 1)]
    range_scale = np.float32(-0.5 / range_sigma**2)
    result = np.empty((height, width, 2), np.float32)

    def upsample_strip(top: int) -> None:
        strip = slice(top, min(top + STRIP_ROWS, height))
        neighbours, distances = [], []
        for down in (0, 1):
            for right in (0, 1):
                gathered = [np.take(plane[rows[strip] + down], columns + right, axis=1) for plane in planes]
                distance = np.subtract(lightness[strip], gathered[0], out=gathered[0])
                distances.append(np.multiply(distance, distance, out=distance))
                neighbours.append((row_weights[down][strip], column_weights[right], gathered[1], gathered[2]))
        # Measured from the closest cell's lightness, so at least one weight is 1 and the sum never underflows.
        closest = np.minimum(np.minimum(distances[0], distances[1]), np.minimum(distances[2], distances[3]))
        total, weighted_a, weighted_b = np.zeros_like(closest), np.zeros_like(closest), np.zeros_like(closest)
        for (row_weight, column_weight, cell_a, cell_b), weight in zip(neighbours, distances):
            weight -= closest
            weight *= range_scale
            np.exp(weight, out=weight)
            weight *= column_weight
            weight *= row_weight
            total += weight
            weighted_a += np.multiply(weight, cell_a, out=cell_a)
            weighted_b += np.multiply(weight, cell_b, out=cell_b)
        result[strip, :, 0] = weighted_a / total
        result[strip, :, 1] = weighted_b / total

    # NumPy lets go of the GIL on arrays this size, so strips run in parallel on threads.
    with ThreadPoolExecutor(max(1, cv2.getNumThreads())) as workers:
        list(workers.map(upsample_strip, range(0, height, STRIP_ROWS)))
    # One back-projection step (Irani & Peleg 1991): averaged over each cell, the result gives the net's ab again,
    # which restores the contrast the weighting spreads out (+0.6 dB PSNR on the ground-truth benchmark).
    residual = ab - cv2.resize(result, (cells_wide, cells_high), interpolation=cv2.INTER_AREA)
    result += cv2.resize(residual, (width, height), interpolation=cv2.INTER_LINEAR)
    return result
