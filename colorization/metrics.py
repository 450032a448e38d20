"""Image-quality numbers shared by the evaluate command and the benchmarks, so both mean the same thing.

Pictures are compared as float arrays on a stated scale (`peak`); colourfulness takes 8-bit-scaled RGB because
Hasler and Süsstrunk's thresholds (15 "slightly", 33 "moderately", 59 "quite", 82 "highly" colourful) are on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11
SSIM_K1, SSIM_K2 = 0.01, 0.03
EDGE_BAND = 3
"""Pixels either side of an L edge counted as the edge region: where bilinear colour bleeds first."""
AB_PEAK = 255.0
"""PSNR of ab is taken against the whole span of a and b (-128..127), as 8-bit Lab stores them."""


def mean_squared_error(first: np.ndarray, second: np.ndarray, mask: np.ndarray | None = None) -> float:
    difference = np.asarray(first, np.float64) - np.asarray(second, np.float64)
    squared = difference * difference
    if mask is not None:
        squared = squared[mask]
    return float(squared.mean())


def psnr(first: np.ndarray, second: np.ndarray, peak: float) -> float:
    """Peak signal-to-noise ratio in dB; infinite for identical arrays."""
    error = mean_squared_error(first, second)
    return float("inf") if error == 0 else float(10.0 * np.log10(peak * peak / error))


def ssim(first: np.ndarray, second: np.ndarray, peak: float) -> float:
    """Wang et al. 2004 structural similarity: 11x11 Gaussian window (sigma 1.5), K1 0.01, K2 0.03, averaged over
    channels and over the pixels whose window lies inside the picture (as scikit-image's gaussian_weights=True)."""
    x = np.asarray(first, np.float64)
    y = np.asarray(second, np.float64)
    if x.ndim == 3:
        return float(np.mean([ssim(x[:, :, c], y[:, :, c], peak) for c in range(x.shape[2])]))
    c1, c2 = (SSIM_K1 * peak) ** 2, (SSIM_K2 * peak) ** 2

    def blur(image):
        return cv2.GaussianBlur(image, (SSIM_WINDOW, SSIM_WINDOW), SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mean_x, mean_y = blur(x), blur(y)
    variance_x = blur(x * x) - mean_x * mean_x
    variance_y = blur(y * y) - mean_y * mean_y
    covariance = blur(x * y) - mean_x * mean_y
    index = ((2 * mean_x * mean_y + c1) * (2 * covariance + c2)) / (
        (mean_x * mean_x + mean_y * mean_y + c1) * (variance_x + variance_y + c2)
    )
    border = SSIM_WINDOW // 2
    inside = index[border:-border, border:-border] if min(index.shape) > 2 * border else index
    return float(inside.mean())


def colourfulness(bgr: np.ndarray) -> float:
    """Hasler & Süsstrunk 2003: spread plus 0.3 x mean of the opponent channels rg = R - G and yb = (R + G)/2 - B,
    on 0..255 RGB. 0 for grey pictures; above about 59 'quite colourful'."""
    blue, green, red = (np.asarray(bgr[:, :, c], np.float64) for c in range(3))
    red_green = red - green
    yellow_blue = 0.5 * (red + green) - blue
    spread = np.hypot(red_green.std(), yellow_blue.std())
    mean = np.hypot(red_green.mean(), yellow_blue.mean())
    return float(spread + 0.3 * mean)


def edge_region(lightness: np.ndarray, band: int = EDGE_BAND) -> np.ndarray:
    """Pixels within `band` of a Canny edge of Lab L (0..100): where colour bleeding shows."""
    edges = cv2.Canny(np.clip(lightness * 2.55 + 0.5, 0, 255).astype(np.uint8), 40, 100)
    if band:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
        edges = cv2.dilate(edges, kernel)
    return edges > 0


def ab_rmse(estimate: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root-mean-square ab error in Lab units (over both channels), optionally inside a mask."""
    return float(np.sqrt(mean_squared_error(estimate, truth, mask)))


@dataclass(frozen=True)
class DifferenceStatistics:
    """How far apart two results are, element by element: the typical, the rare (1 in 100) and the worst."""

    mean: float
    p99: float
    max: float


def difference_statistics(first: np.ndarray, second: np.ndarray) -> DifferenceStatistics:
    """Mean, 99th percentile and maximum of |first - second| over every element (pixels and channels alike)."""
    difference = np.abs(np.asarray(first, np.float64) - np.asarray(second, np.float64)).ravel()
    return DifferenceStatistics(float(difference.mean()), float(np.percentile(difference, 99)), float(difference.max()))
