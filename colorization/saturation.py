"""`--saturation`: more (or less) colour without hard clipping.

Multiplying ab by a factor pushes bright and dark colours out of what sRGB can show, and the conversion back then
clips channels one by one, which shifts hue and flattens detail. Instead every pixel's ab is scaled by the factor or
by the largest factor that keeps its colour inside sRGB at its own L and hue, whichever is smaller. That largest
chroma is looked up in a table over (L, hue) computed with the same Lab-to-RGB formulas OpenCV uses and shipped with
the package (computing it takes longer than colorizing a small photo; a test checks the two agree). The default
(guided) mode applies the same rule at factor 1, so colour the net predicts outside sRGB keeps the photo's lightness;
reference mode at factor 1 leaves ab as predicted and clips as OpenCV's sample does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import ColorizationError

LIGHTNESS_STEPS_PER_UNIT = 2
HUE_STEPS_PER_DEGREE = 2
GAMUT_MARGIN = 0.99
"""Stay 1% inside the boundary so interpolating the table never lands just outside it."""
SEARCH_CHROMA = 200.0
TABLE_PATH = Path(__file__).resolve().parent / "data" / "max_chroma_table.npy"
"""compute_max_chroma_table's result; write_max_chroma_table makes it again after a change to the formulas."""
WHITE_X, WHITE_Z = 0.950456, 1.088754
"""OpenCV's D65 white point and XYZ-to-linear-sRGB matrix, so the gamut is the one cv2.cvtColor converts into."""
XYZ_TO_LINEAR_RGB = np.array(
    [[3.240479, -1.53715, -0.498535], [-0.969256, 1.875991, 0.041556], [0.055648, -0.204043, 1.057311]]
)


SATURATION_RANGE = (0.0, 4.0)
"""0 is grey, 1 as predicted; beyond 4 every colour is pushed to the edge of sRGB already."""


def check_saturation(factor: float) -> float:
    low, high = SATURATION_RANGE
    if not low <= factor <= high:  # NaN fails this too
        raise ColorizationError(
            f"--saturation must be from {low:g} (grey) to {high:g}, 1 leaves colour as predicted; got {factor}"
        )
    return factor


def inverse_lab_function(value: np.ndarray) -> np.ndarray:
    return np.where(value > 6 / 29, value**3, 3 * (6 / 29) ** 2 * (value - 4 / 29))


def linear_rgb(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unclipped linear sRGB of CIE Lab, (..., 3): a colour is inside sRGB when all three are in [0, 1]."""
    f_y, a, b = np.broadcast_arrays((np.asarray(lightness, np.float64) + 16) / 116, a, b)
    xyz = np.stack(
        [
            WHITE_X * inverse_lab_function(f_y + a / 500),
            inverse_lab_function(f_y),
            WHITE_Z * inverse_lab_function(f_y - b / 200),
        ],
        axis=-1,
    )
    return xyz @ XYZ_TO_LINEAR_RGB.T


@lru_cache(maxsize=1)
def max_chroma_table() -> np.ndarray:
    """Largest in-gamut chroma at each (L, hue): rows L 0..100, columns hue 0..360 degrees inclusive."""
    return np.load(TABLE_PATH, allow_pickle=False)


def write_max_chroma_table(path: Path = TABLE_PATH) -> None:
    np.save(path, compute_max_chroma_table(), allow_pickle=False)


def compute_max_chroma_table() -> np.ndarray:
    """max_chroma_table by bisection, in float64 then rounded to float32."""
    lightness = np.linspace(0, 100, 100 * LIGHTNESS_STEPS_PER_UNIT + 1)[:, None]
    hue = np.radians(np.linspace(0, 360, 360 * HUE_STEPS_PER_DEGREE + 1))[None, :]
    low = np.zeros(np.broadcast_shapes(lightness.shape, hue.shape))
    high = np.full_like(low, SEARCH_CHROMA)
    for _ in range(24):
        middle = (low + high) / 2
        rgb = linear_rgb(lightness, middle * np.cos(hue), middle * np.sin(hue))
        inside = ((rgb >= 0) & (rgb <= 1)).all(axis=-1)
        low = np.where(inside, middle, low)
        high = np.where(inside, high, middle)
    return (low * GAMUT_MARGIN).astype(np.float32)


@lru_cache(maxsize=1)
def signed_hue_table() -> np.ndarray:
    """max_chroma_table with its columns starting at hue -180 degrees, the range arctan2 gives, flattened for np.take."""
    table = max_chroma_table()
    half_turn = 180 * HUE_STEPS_PER_DEGREE
    return np.ascontiguousarray(np.concatenate([table[:, half_turn:], table[:, 1 : half_turn + 1]], axis=1)).ravel()


def chroma_limit(lightness: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The table interpolated at each pixel's L and hue, in NumPy rather than cv2.remap, whose result for a pixel
    depends on how the picture is cut into blocks: a band then gives exactly the whole picture's values."""
    columns_per_row = 360 * HUE_STEPS_PER_DEGREE + 1
    rows = np.clip(
        np.asarray(lightness, np.float32) * np.float32(LIGHTNESS_STEPS_PER_UNIT), 0, 100 * LIGHTNESS_STEPS_PER_UNIT
    )
    columns = np.arctan2(b, a)
    columns *= np.float32(180 * HUE_STEPS_PER_DEGREE / np.pi)
    columns += np.float32(180 * HUE_STEPS_PER_DEGREE)
    row = np.minimum(rows.astype(np.int32), 100 * LIGHTNESS_STEPS_PER_UNIT - 1)
    column = np.minimum(columns.astype(np.int32), columns_per_row - 2)
    rows -= row
    columns -= column
    index = row * columns_per_row + column
    table = signed_hue_table()
    top, bottom = np.take(table, index), np.take(table, index + columns_per_row)
    top += (np.take(table, index + 1) - top) * columns
    bottom += (np.take(table, index + columns_per_row + 1) - bottom) * columns
    bottom -= top
    bottom *= rows
    bottom += top
    return bottom


@lru_cache(maxsize=1)
def safe_chroma_table() -> np.ndarray:
    """For each step of L, a chroma every hue holds anywhere up to the next step: pixels below it need no lookup."""
    table = max_chroma_table()
    return np.minimum(table[:-1].min(axis=1), table[1:].min(axis=1))


def fit_in_gamut(
    lightness: np.ndarray, a: np.ndarray, b: np.ndarray, factor: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """a and b scaled by `factor` or by the largest factor that keeps the pixel inside sRGB at its own L and hue,
    whichever is smaller: only chroma gives way, so converting to RGB needs no clipping and L stays the input's."""
    chroma = np.sqrt(a * a + b * b)
    steps = np.clip(lightness * np.float32(LIGHTNESS_STEPS_PER_UNIT), 0, 100 * LIGHTNESS_STEPS_PER_UNIT - 1).astype(
        np.int32
    )
    outside = np.flatnonzero(chroma * np.float32(factor) > np.take(safe_chroma_table(), steps))
    scale = np.full_like(chroma, factor)
    if outside.size:
        pixels = [np.ravel(plane)[outside] for plane in (lightness, a, b, chroma)]
        limit = chroma_limit(*pixels[:3])
        scale.ravel()[outside] = np.minimum(np.float32(factor), limit / np.maximum(pixels[3], np.float32(1e-6)))
    return a * scale, b * scale
