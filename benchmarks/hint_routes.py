"""The ways of spreading colour hints that benchmarks/hints.py measures beside the one colorization uses.

Each route takes the net's raw scores, its cluster centres and annealing scale, the picture's L (any size), the
hints and the picture's size, and gives the ab grid (cells, cells, 2) that the pipeline's compose turns into the
picture, so every route is scored through the same upsampling and composition:

- `chosen`: colorization.hint_spreading (texture smoothed away, domain transform normalised by its response
  without edges, blended in ab on the net's grid).
- `bins`: the same spreading, but blended in the 313-bin distribution: in each cell the scores are moved towards a
  Gaussian around the hint's ab by the confidence (p^(1-c) q^c), then annealed at the temperature as usual.
- `no texture smoothing`: the chosen route on the plain small lightness.
- `fast global smoother`: OpenCV contrib's fast global smoother as the spreading filter, normalised the same way.
- `Levin et al.`: optimisation colorization (Levin, Lischinski & Weiss 2004) at the working size: each pixel's
  change to the net's ab is the lightness-affinity-weighted mean of its 8 neighbours' (affinities made symmetric,
  so that conjugate gradients solve it: the dependencies hold no sparse solver), the hints are soft constraints
  and a weak pull to no change makes it fade elsewhere; the change is averaged onto the net's grid.
- `appearance`: the chosen spreading plus edit propagation in appearance space (after An & Pellacini's AppProp): a
  hint also colours every pixel that looks like its own (smoothed L, local texture) wherever it lies, joined with
  the spreading as independent evidence. It comes nearest to +3 dB on astronaut by colouring regions no hint is
  in, where the issue asks for colour that stays in the hint's region and fades elsewhere.
- `segments`: the chosen spreading plus graph-based segments (Felzenszwalb & Huttenlocher, OpenCV contrib) of the
  smoothed L at three scales: a hint fills each segment it lies in (photos' segments run across regions).
- `true_regions` is no route but a bound: each hint fills its region as the photo's true colour draws it.
"""

from __future__ import annotations

import cv2
import numpy as np

from colorization.hint_spreading import (
    SMALLEST_WEIGHT,
    WORKING_SIDE,
    hint_maps,
    joined,
    on_cells,
    placed,
    splat,
    working_lightness,
)
from colorization.model import annealed_mean

BIN_SIGMA = 10.0
"""Spread (ab units) of the Gaussian the `bins` route pulls each hinted cell's distribution towards."""
SMOOTHER_LAMBDA, SMOOTHER_SIGMA = 750.0, 8.0
"""The fast global smoother's best oracle settings at the working size (benchmarks/hints.py --routes)."""
LEVIN_PRIOR, LEVIN_HINT_WEIGHT, LEVIN_ITERATIONS = 1e-4, 100.0, 2000
"""The pull to the net's colour (relative to a pixel's affinities; its reach is about 1/sqrt of it in pixels), the
hints' weight, and the most conjugate-gradient iterations."""
APPEARANCE_SIGMAS = (5.0, 5.0)
"""Lightness (L units) and local texture (standard deviation of L over 3x3, L units) at which the appearance
affinity falls to exp(-1/2): the best oracle settings that pass the two-region edge check (benchmarks/hints.py)."""
SEGMENT_SCALES = (200.0, 400.0, 800.0)
"""The segmentation's k (larger, larger segments) at the working size; the best oracle settings found."""
BOUND_TOLERANCE = 15.0
"""How near (ab units) a pixel's true colour must be to a hint's for `true_regions` to count it in the hint's region."""
NEIGHBOURS = [(down, right) for down in (-1, 0, 1) for right in (-1, 0, 1) if (down, right) != (0, 0)]


def blend(ab: np.ndarray, confidence: np.ndarray, colour: np.ndarray) -> np.ndarray:
    cell_confidence, cell_colour = on_cells(confidence, colour, (ab.shape[1], ab.shape[0]))
    return ab + cell_confidence[:, :, None] * (cell_colour - ab)


def chosen(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    return blend(ab, *hint_maps(hints, working_lightness(lightness), picture_size)) if hints else ab


def plain_lightness(lightness: np.ndarray) -> np.ndarray:
    height, width = lightness.shape
    factor = min(1.0, WORKING_SIDE / max(height, width))
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return np.ascontiguousarray(cv2.resize(lightness, size, interpolation=cv2.INTER_AREA), np.float32)


def no_texture_smoothing(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    return blend(ab, *hint_maps(hints, plain_lightness(lightness), picture_size)) if hints else ab


def bins(scores, points, scale, lightness, hints, picture_size):
    if not hints:
        return annealed_mean(scores, points, scale)
    confidence, colour = hint_maps(hints, working_lightness(lightness), picture_size)
    cell_confidence, cell_colour = on_cells(confidence, colour, (scores.shape[2], scores.shape[1]))
    flat = scores.reshape(scores.shape[0], -1).astype(np.float32)
    centres = np.asarray(points, np.float32)
    targets = cell_colour.reshape(-1, 2)
    pull = -((centres[:, None, :] - targets[None, :, :]) ** 2).sum(axis=2) / np.float32(2 * BIN_SIGMA**2)
    weight = cell_confidence.reshape(1, -1)
    logits = np.float32(scale) * ((1 - weight) * flat + weight * pull)
    logits -= logits.max(axis=0, keepdims=True)
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=0, keepdims=True)
    return np.ascontiguousarray((centres.T @ probabilities).T.reshape(*scores.shape[1:], 2))


def fast_global_smoother(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    if not hints:
        return ab
    guide = plain_lightness(lightness)
    positions, colours, _ = placed(hints, picture_size)
    seeds = splat(positions, np.column_stack([colours, np.ones(len(colours))]).astype(np.float32), guide.shape)
    grey = np.clip(guide * 2.55 + 0.5, 0, 255).astype(np.uint8)
    spread = cv2.ximgproc.fastGlobalSmootherFilter(grey, seeds, SMOOTHER_LAMBDA, SMOOTHER_SIGMA)
    without_edges = cv2.ximgproc.fastGlobalSmootherFilter(
        np.zeros_like(grey), np.ascontiguousarray(seeds[:, :, 2]), SMOOTHER_LAMBDA, SMOOTHER_SIGMA
    )
    weight = np.maximum(spread[:, :, 2], SMALLEST_WEIGHT)
    confidence = np.clip(spread[:, :, 2] / np.maximum(without_edges, SMALLEST_WEIGHT), 0, 1).astype(np.float32)
    return blend(ab, confidence, (spread[:, :, :2] / weight[:, :, None]).astype(np.float32))


def shifted(image: np.ndarray, down: int, right: int) -> np.ndarray:
    """out[y, x] = image[y + down, x + right], edges repeated."""
    padded = np.pad(image, ((1, 1), (1, 1)) + ((0, 0),) * (image.ndim - 2), mode="edge")
    height, width = image.shape[:2]
    return padded[1 + down : 1 + down + height, 1 + right : 1 + right + width]


def levin_weights(lightness: np.ndarray) -> np.ndarray:
    """Levin et al.'s affinities, made symmetric: exp(-(L_r - L_s)^2 / 2 sigma^2) to each of the 8 neighbours, sigma^2
    0.6 times the lightness variance around the two pixels (lightness 0..1, as their code takes it)."""
    neighbours = [shifted(lightness, down, right) for down, right in NEIGHBOURS]
    variance = np.maximum(np.stack(neighbours + [lightness]).var(axis=0) * 0.6, 2e-6)
    return np.stack(
        [
            np.exp(-((lightness - other) ** 2) / (variance + shifted(variance, down, right)))
            for other, (down, right) in zip(neighbours, NEIGHBOURS)
        ]
    )


def levin_solve(lightness: np.ndarray, hint_weight: np.ndarray, hint_change: np.ndarray) -> np.ndarray:
    """The change to the net's ab: every pixel the affinity-weighted mean of its neighbours' (the graph Laplacian),
    the hints' change at their pixels, a weak pull to no change elsewhere; Jacobi-preconditioned conjugate gradients."""
    weights = levin_weights(lightness)
    degree = weights.sum(axis=0)
    diagonal = (degree * (1 + LEVIN_PRIOR) + LEVIN_HINT_WEIGHT * hint_weight)[:, :, None]

    def system(change):
        neighbours = sum(
            weights[index][:, :, None] * shifted(change, down, right) for index, (down, right) in enumerate(NEIGHBOURS)
        )
        return diagonal * change - neighbours

    target = LEVIN_HINT_WEIGHT * hint_weight[:, :, None] * hint_change
    solution = np.zeros_like(target)
    residual = target.copy()
    direction = residual / diagonal
    product = first_product = (residual * direction).sum()
    for _ in range(LEVIN_ITERATIONS):
        step = system(direction)
        alpha = product / (direction * step).sum()
        solution += alpha * direction
        residual -= alpha * step
        preconditioned = residual / diagonal
        new_product = (residual * preconditioned).sum()
        if new_product < 1e-10 * first_product:
            break
        direction = preconditioned + (new_product / product) * direction
        product = new_product
    return solution


def levin(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    if not hints:
        return ab
    guide = plain_lightness(lightness)
    prior = cv2.resize(ab, (guide.shape[1], guide.shape[0]), interpolation=cv2.INTER_LINEAR).astype(np.float64)
    positions, colours, _ = placed(hints, picture_size)
    seeds = splat(positions, np.column_stack([colours, np.ones(len(colours))]).astype(np.float32), guide.shape)
    weight = np.minimum(seeds[:, :, 2], 1.0).astype(np.float64)
    hint_ab = seeds[:, :, :2] / np.maximum(seeds[:, :, 2:], SMALLEST_WEIGHT)
    change = levin_solve(guide.astype(np.float64) / 100.0, weight, hint_ab - prior).astype(np.float32)
    return ab + cv2.resize(change, (ab.shape[1], ab.shape[0]), interpolation=cv2.INTER_AREA)


def hint_pixels(hints, picture_size, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, columns (at `shape`) and ab of the hints."""
    positions, colours, _ = placed(hints, picture_size)
    height, width = shape
    columns = np.clip((positions[:, 0] * width).astype(int), 0, width - 1)
    return np.clip((positions[:, 1] * height).astype(int), 0, height - 1), columns, colours


def appearance(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    if not hints:
        return ab
    guide = working_lightness(lightness)
    plain = plain_lightness(lightness)
    texture = np.sqrt(np.maximum(cv2.blur(plain**2, (3, 3)) - cv2.blur(plain, (3, 3)) ** 2, 0))
    features = np.dstack([guide / APPEARANCE_SIGMAS[0], texture / APPEARANCE_SIGMAS[1]]).reshape(-1, 2)
    rows, columns, colours = hint_pixels(hints, picture_size, guide.shape)
    at_hints = features[rows * guide.shape[1] + columns]
    distances = ((features[:, None, :] - at_hints[None, :, :]) ** 2).sum(axis=2)
    affinity = np.exp(-0.5 * distances).astype(np.float32)
    alike = (1 - np.prod(1 - np.minimum(affinity, 1 - 1e-6), axis=1)).reshape(guide.shape)
    alike_colour = (affinity @ colours) / np.maximum(affinity.sum(axis=1, keepdims=True), SMALLEST_WEIGHT)
    spread = hint_maps(hints, guide, picture_size)
    return blend(ab, *joined([spread[0], alike], [spread[1], alike_colour.reshape(*guide.shape, 2)]))


def segments(scores, points, scale, lightness, hints, picture_size):
    ab = annealed_mean(scores, points, scale)
    if not hints:
        return ab
    guide = working_lightness(lightness)
    grey = cv2.cvtColor(np.clip(guide * 2.55 + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_GRAY2BGR)
    rows, columns, colours = hint_pixels(hints, picture_size, guide.shape)
    confidences, spread_colours = [], []
    for k in SEGMENT_SCALES:
        labels = cv2.ximgproc.segmentation.createGraphSegmentation(0.5, k, 20).processImage(grey)
        sums = np.zeros((labels.max() + 1, 3), np.float32)
        np.add.at(sums, labels[rows, columns], np.column_stack([colours, np.ones(len(colours))]))
        confidences.append((sums[:, 2] > 0)[labels].astype(np.float32) / len(SEGMENT_SCALES))
        spread_colours.append((sums[:, :2] / np.maximum(sums[:, 2:], 1))[labels])
    segment_colour = joined(confidences, spread_colours)[1]
    spread = hint_maps(hints, guide, picture_size)
    return blend(ab, *joined([spread[0], sum(confidences)], [spread[1], segment_colour]))


def true_regions(true_ab: np.ndarray):
    """Not a route a user can have: the photo's true colour (ab at its full size) shows each hint's region, the
    connected pixels whose true ab is within BOUND_TOLERANCE of the hint's. Each hint fills its region, the net's
    colour stays elsewhere: what ideal region finding would give (benchmarks/hints.py --bound)."""

    def route(scores, points, scale, lightness, hints, picture_size):
        ab = annealed_mean(scores, points, scale)
        if not hints:
            return ab
        height, width = plain_lightness(lightness).shape
        truth = cv2.resize(true_ab, (width, height), interpolation=cv2.INTER_AREA)
        rows, columns, colours = hint_pixels(hints, picture_size, (height, width))
        count = np.zeros((height, width), np.float32)
        total = np.zeros((height, width, 2), np.float32)
        for row, column, colour in zip(rows, columns, colours):
            near = (np.linalg.norm(truth - colour, axis=2) < BOUND_TOLERANCE).astype(np.uint8)
            labels = cv2.connectedComponents(near, connectivity=8)[1]
            region = (labels == labels[row, column]) & (near > 0)
            count += region
            total += region[:, :, None] * colour
        return blend(ab, np.minimum(count, 1), total / np.maximum(count, 1)[:, :, None])

    return route


ROUTES = {
    "chosen: smoothed L, domain transform, ab blend": chosen,
    "(a) 313-bin reweighting, same spreading": bins,
    "(b) Levin et al. optimisation (CG, 128 px)": levin,
    "(c) fast global smoother spreading": fast_global_smoother,
    "domain transform without texture smoothing": no_texture_smoothing,
    "(d) + appearance propagation (AppProp-like)": appearance,
    "(e) + graph segments at three scales": segments,
}
