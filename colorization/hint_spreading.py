"""How a colour hint changes the net's colour: over the region the point lies in, stopping at the photo's edges,
fading elsewhere to the net's own prediction.

Everything is worked on a small copy of the picture's lightness (WORKING_SIDE pixels on its longer side), so it
costs milliseconds at any picture size and gives the same result from a full-size picture or a screen-sized preview
of it. Three steps (benchmarks/hints.py measures them and the routes we rejected; docs/quality.md has the figures):

1. Texture is smoothed away from that lightness by an edge-preserving smoother (OpenCV contrib's fast global
   smoother), so a hint spreads over a patterned dress or foliage but stops where one region meets another.
2. An edge-aware filter (the domain transform, recursive form) spreads the hints over it. How much a pixel is
   reached, its confidence, is the filter's response to the hints divided by its response in a picture without
   edges: 1 across the hint's own region however large, falling where an edge of the lightness lies in between.
   Which hint's colour a pixel takes is the same filter with a shorter reach, so that two hints in one region
   each keep their side of it. A hint with a radius counts only near its point (half at the radius).
3. The confidence and colour are averaged onto the net's grid of colour cells and blended there with the net's
   own ab; the colour then goes through the same upsampling and composition as every prediction, which also
   makes it follow the full-resolution edges. Only hue and chroma come from the hint: L is the photo's.

The blend is in ab, after the annealed mean, so the temperature (vividness) still changes the net's colour
everywhere a hint does not reach, and `--saturation` scales hinted colour like any other.
"""

from __future__ import annotations

import cv2
import numpy as np

from .hints import Hint, check_count

WORKING_SIDE = 128
"""Longer side, in pixels, of the lightness the hints are spread over: a little finer than the net's 56 cells."""
TEXTURE_SMOOTHING = 100.0
"""The smoother's strength (its lambda) at the working size: texture a few pixels across is smoothed away."""
TEXTURE_CONTRAST = 10.0
"""Lightness steps (0-255 grey levels) below about this are texture to the smoother; larger ones are edges it keeps."""
EDGE_SIGMA = 4.0
"""How strongly a lightness step (L units, 0-100) stops a hint: a step of a few times this stops it."""
REGION_REACH = 1.5
"""The spatial reach of the confidence, in working sides: a hint fills its whole region, however far it extends."""
COLOUR_REACH = 0.15
"""The spatial reach that decides which hint's colour a pixel takes, in working sides."""
FILTER_ITERATIONS = 3
SMALLEST_WEIGHT = 1e-20


def working_lightness(lightness: np.ndarray) -> np.ndarray:
    """The picture's L at WORKING_SIDE on its longer side (smaller pictures as they are), texture smoothed away."""
    height, width = lightness.shape
    factor = min(1.0, WORKING_SIDE / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    small = np.ascontiguousarray(cv2.resize(lightness, size, interpolation=cv2.INTER_AREA), np.float32)
    guide = np.clip(small * np.float32(2.55) + np.float32(0.5), 0, 255).astype(np.uint8)
    return cv2.ximgproc.fastGlobalSmootherFilter(
        guide, small, TEXTURE_SMOOTHING * relative_size(size) ** 2, TEXTURE_CONTRAST
    )


def relative_size(size: tuple[int, int]) -> float:
    """The working size relative to WORKING_SIDE, for pictures smaller than it."""
    return max(size) / WORKING_SIDE


def splat(points: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Each point's values spread bilinearly over the four pixels around it: (height, width, channels)."""
    height, width = shape
    planes = np.zeros((height, width, values.shape[1]), np.float32)
    x = np.clip(points[:, 0] * width - 0.5, 0, width - 1)
    y = np.clip(points[:, 1] * height - 0.5, 0, height - 1)
    left, top = np.floor(x).astype(int), np.floor(y).astype(int)
    right, bottom = np.minimum(left + 1, width - 1), np.minimum(top + 1, height - 1)
    along, down = (x - left)[:, None], (y - top)[:, None]
    for rows, columns, weight in (
        (top, left, (1 - along) * (1 - down)),
        (top, right, along * (1 - down)),
        (bottom, left, (1 - along) * down),
        (bottom, right, along * down),
    ):
        np.add.at(planes, (rows, columns), values * weight)
    return planes


def transform(guide: np.ndarray, planes: np.ndarray, reach: float) -> np.ndarray:
    """The domain transform (recursive filter) of `planes`, steered by `guide`, with a spatial reach in pixels."""
    return cv2.ximgproc.dtFilter(guide, planes, reach, EDGE_SIGMA, mode=cv2.ximgproc.DTF_RF, numIters=FILTER_ITERATIONS)


def spread_group(guide: np.ndarray, points: np.ndarray, ab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Confidence (0-1) and colour of a group of hints over the working picture."""
    side = max(guide.shape)
    seeds = splat(points, np.column_stack([ab, np.ones(len(ab))]).astype(np.float32), guide.shape)
    near = transform(guide, seeds, COLOUR_REACH * side)
    far = transform(guide, seeds, REGION_REACH * side)
    without_edges = transform(np.zeros_like(guide), np.ascontiguousarray(seeds[:, :, 2]), REGION_REACH * side)
    confidence = np.clip(far[:, :, 2] / np.maximum(without_edges, SMALLEST_WEIGHT), 0, 1)
    # Far from every hint the short filter's weights underflow: the long one then says whose colour it is.
    close = near[:, :, 2] > SMALLEST_WEIGHT
    weights = np.where(close, near[:, :, 2], np.maximum(far[:, :, 2], SMALLEST_WEIGHT))
    colour = np.where(close[:, :, None], near[:, :, :2], far[:, :, :2]) / weights[:, :, None]
    return confidence.astype(np.float32), colour.astype(np.float32)


def radius_window(points: np.ndarray, radii: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Per pixel, the strongest of exp(-ln 2 (distance / radius)^2) over the hints: 1/2 at each radius."""
    height, width = shape
    scale = max(shape)
    rows = (np.arange(height, dtype=np.float32) + 0.5) / scale
    columns = (np.arange(width, dtype=np.float32) + 0.5) / scale
    window = np.zeros(shape, np.float32)
    for (x, y), radius in zip(points * np.array([width, height]) / scale, radii):
        distance = (rows[:, None] - y) ** 2 + (columns[None, :] - x) ** 2
        np.maximum(window, np.exp(-np.log(2) * distance / radius**2), out=window)
    return window


def placed(hints: list[Hint], picture_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Positions (fractions of the picture), ab and radii (fractions of its longer side, 0 for none) of the hints."""
    width, height = picture_size
    points = np.array([hint.place(width, height) for hint in hints], np.float64).reshape(-1, 2)
    ab = np.array([hint.ab for hint in hints], np.float32).reshape(-1, 2)
    radii = np.array([hint.radius_fraction(width, height) or 0.0 for hint in hints])
    return points, ab, radii


def hint_maps(hints: list[Hint], guide: np.ndarray, picture_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and colour over `guide` (working_lightness): hints without a radius spread as one group, those
    with one as another, limited by their windows; the two are joined as independent evidence."""
    points, ab, radii = placed(hints, picture_size)
    limited = radii > 0
    confidences, colours = [], []
    for members in (~limited, limited):
        if not members.any():
            continue
        group_confidence, colour = spread_group(guide, points[members], ab[members])
        if members is limited:
            group_confidence *= radius_window(points[members], radii[members], guide.shape)
        confidences.append(group_confidence)
        colours.append(colour)
    return joined(confidences, colours)


def joined(confidences: list[np.ndarray], colours: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Maps of independent evidence as one: confidence 1 - prod(1 - c), colour their confidence-weighted mean."""
    total = np.maximum(sum(confidences), np.float32(SMALLEST_WEIGHT))
    colour = sum(confidence[:, :, None] * part for confidence, part in zip(confidences, colours)) / total[:, :, None]
    return (1 - np.prod([1 - confidence for confidence in confidences], axis=0)).astype(np.float32), colour


def on_cells(confidence: np.ndarray, colour: np.ndarray, cells: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Confidence and colour averaged onto the net's grid (width, height of it), colour weighted by confidence."""
    cell_confidence = cv2.resize(confidence, cells, interpolation=cv2.INTER_AREA)
    cell_colour = cv2.resize(colour * confidence[:, :, None], cells, interpolation=cv2.INTER_AREA)
    cell_colour /= np.maximum(cell_confidence, np.float32(SMALLEST_WEIGHT))[:, :, None]
    return cell_confidence, cell_colour


def apply_hints(
    ab: np.ndarray, hints, lightness: np.ndarray, picture_size: tuple[int, int] | None = None
) -> np.ndarray:
    """The net's ab grid (cells, cells, 2) with the hints' colour blended in, for the same upsampling and
    composition as any prediction. `lightness` is the picture's L at any size (full, or a preview: both give the
    same grid); hint pixels refer to a picture of `picture_size` (width, height), by default `lightness`'s own."""
    hints = list(hints)
    if not hints:
        return ab
    check_count(len(hints))
    height, width = lightness.shape
    confidence, colour = hint_maps(hints, working_lightness(lightness), picture_size or (width, height))
    cell_confidence, cell_colour = on_cells(confidence, colour, (ab.shape[1], ab.shape[0]))
    ab = np.asarray(ab, np.float32)
    return ab + cell_confidence[:, :, None] * (cell_colour - ab)
