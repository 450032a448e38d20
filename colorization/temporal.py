"""Keeping colour steady from frame to frame: frames colorized one by one flicker, because a tiny change in a frame's
lightness can tip the network between colour modes. Only ab is touched, on the network's small ab grid (cheap);
the full-resolution L that compose() puts back is never changed.
"""

from __future__ import annotations

import cv2
import numpy as np

DEFAULT_STRENGTH = 0.7
"""Weight kept from the running average where nothing moves: about (1+s)/(1-s) = 6 frames of memory, a fifth of a
second at 30 fps, short enough that a colour change in the film follows at once."""

MOTION_LIGHTNESS = 10.0
"""Change of L (0-100) at a point of the ab grid from one frame to the next above which it counts as moving: there
the new frame's colour is taken as it is, so colour follows motion instead of trailing behind it."""

SCENE_CUT_LIGHTNESS = 10.0
"""Mean change of L over the frame above which a new shot starts and the average restarts from the new frame."""


def mean_ab_change(previous: np.ndarray, current: np.ndarray) -> float:
    """The flicker metric: mean |delta ab| between two consecutive frames (ab in Lab units, any resolution)."""
    return float(np.abs(current.astype(np.float32) - previous.astype(np.float32)).mean())


def lightness_grid(network_input: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """L averaged onto the ab grid: each point's lightness, without the grain of single pixels."""
    return cv2.resize(network_input, (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def lightness_change(previous: np.ndarray, current: np.ndarray) -> np.ndarray:
    """|change of L| at each grid point, less the change of the whole frame (the median change, which a moving
    object does not shift): the brightness pumping of old prints is neither motion nor a cut."""
    difference = current - previous
    return np.abs(difference - np.median(difference))


class TemporalSmoother:
    """An exponential moving average of ab per point of the ab grid, gated by motion and restarted at scene cuts.

    Where L stands still the colour is averaged over the last few frames; where L moves the weight of the past falls
    linearly to zero at MOTION_LIGHTNESS, and a cut (the whole frame changes) starts afresh. A static clip comes out
    exactly as colorized frame by frame. strength 0 turns smoothing off (each frame's ab unchanged).
    """

    def __init__(
        self,
        strength: float = DEFAULT_STRENGTH,
        motion: float = MOTION_LIGHTNESS,
        scene_cut: float = SCENE_CUT_LIGHTNESS,
    ):
        if not 0.0 <= strength < 1.0:
            raise ValueError(f"smoothing strength must be at least 0 and below 1, got {strength}")
        self.strength = np.float32(strength)
        self.motion = motion
        self.scene_cut = scene_cut
        self.previous_lightness: np.ndarray | None = None
        self.average: np.ndarray | None = None
        self.cut = True
        self.cuts = 0

    def update(self, network_input: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """The next frame's (network input L - 50, predicted ab) in, the ab to compose out (a new array each time)."""
        lightness = lightness_grid(network_input, ab.shape[:2])
        previous, self.previous_lightness = self.previous_lightness, lightness
        if previous is None:
            self.cut = True
        else:
            change = lightness_change(previous, lightness)
            self.cut = float(change.mean()) > self.scene_cut
            self.cuts += self.cut
        if self.cut or self.average is None or not self.strength:
            self.average = ab.astype(np.float32, copy=True)
            return self.average
        keep = (self.strength * np.clip(1.0 - change / np.float32(self.motion), 0.0, 1.0))[:, :, None]
        self.average = self.average + (1.0 - keep) * (ab - self.average)
        return self.average


class FlickerMeter:
    """The flicker metric over a film: mean |delta ab| between consecutive frames of the same shot (a cut is not
    flicker), fed the small ab grid the network predicts, so measuring costs nothing."""

    def __init__(self) -> None:
        self.previous: np.ndarray | None = None
        self.total = 0.0
        self.pairs = 0

    def add(self, ab: np.ndarray, scene_cut: bool) -> None:
        if self.previous is not None and not scene_cut:
            self.total += mean_ab_change(self.previous, ab)
            self.pairs += 1
        self.previous = ab

    @property
    def value(self) -> float | None:
        return self.total / self.pairs if self.pairs else None
