"""What the network is, in one place: its input normalisation, its output bins and their decoding.

The release net takes the L of CIE Lab minus 50 at 224x224 and gives, on a grid a quarter of that size, raw scores
(`conv8_313`) over 313 ab bins; the release scales them by 1/T (`conv8_313_rh`), soft-maxes them and takes the
annealed mean with the bins' cluster centres (`class8_ab`).
"""

from __future__ import annotations

import numpy as np

from .errors import ColorizationError

DEFAULT_SIZE = 224
CLUSTER_COUNT = 313
RELEASE_SCALE = 2.606
"""The release's annealing factor 1/T (T = 0.38): the softmax sharpening the authors shipped."""
SCORES_LAYER = "conv8_313"
SCALE_LAYER = "conv8_313_rh"
OUTPUT_LAYER = "class8_ab"


class LightnessNormalisation:
    """The net was trained on L - 50: lightness centred on zero, not scaled (richzhang's l_cent and l_norm)."""

    offset = 50.0

    @classmethod
    def network_input(cls, lightness: np.ndarray) -> np.ndarray:
        return lightness - np.float32(cls.offset)

    @classmethod
    def lightness(cls, network_input: np.ndarray) -> np.ndarray:
        return network_input + np.float32(cls.offset)


MIN_SIZE, MAX_SIZE = 32, 896
"""The net halves its input three times; it was trained at 224, and at 896 (16 times the work) its activations
already need about as much memory again as its weights: larger sizes only cost memory, never colour."""
TEMPERATURE_RANGE = (0.01, 10.0)
"""Below 0.01 the annealed mean is the mode already; above 10 it is the plain mean and more."""


def check_size(size: int) -> int:
    if not (isinstance(size, int) and MIN_SIZE <= size <= MAX_SIZE and size % 8 == 0):
        raise ColorizationError(
            f"--size must be a multiple of 8 from {MIN_SIZE} to {MAX_SIZE} (the net halves it three times; "
            f"larger sizes only cost memory), got {size}"
        )
    return size


def annealing_scale(temperature: float | None) -> float:
    """1/T; None keeps the release's exact 2.606 rather than 1/0.38 = 2.6316."""
    if temperature is None:
        return RELEASE_SCALE
    low, high = TEMPERATURE_RANGE
    if not low <= temperature <= high:  # NaN fails this too
        raise ColorizationError(f"--temperature must be from {low:g} to {high:g}, got {temperature}")
    return 1.0 / temperature


def annealed_mean(scores: np.ndarray, points: np.ndarray, scale: float) -> np.ndarray:
    """(313, h, w) raw scores -> (h, w, 2) ab: the mean of the cluster centres under softmax(scale * scores).

    The maximum is subtracted before the exponential so that confident scores cannot overflow."""
    scaled = scores.reshape(scores.shape[0], -1).astype(np.float32) * np.float32(scale)
    scaled -= scaled.max(axis=0, keepdims=True)
    np.exp(scaled, out=scaled)
    sums = np.concatenate([np.asarray(points, np.float32).T, np.ones((1, scores.shape[0]), np.float32)]) @ scaled
    ab = sums[:2] / sums[2:]
    return np.ascontiguousarray(ab.T.reshape(*scores.shape[1:], 2))
