"""Checks several test files (and benchmarks) make of a picture, and the grey pictures they make."""

import cv2
import numpy as np


def mean_chroma(image: np.ndarray) -> float:
    """Mean |a| and |b| of an 8-bit BGR picture in OpenCV's 8-bit Lab (128 is grey): 0 for grey, a few for colour."""
    return float(np.abs(cv2.cvtColor(image, cv2.COLOR_BGR2Lab)[:, :, 1:].astype(int) - 128).mean())


def grey_variants(photo: np.ndarray) -> dict:
    """The ways a grey picture arrives: one channel, one channel in 3-D, grey+alpha, equal BGR, equal BGRA."""
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    alpha = np.linspace(0, 255, grey.size).astype(np.uint8).reshape(grey.shape)
    bgr = cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)
    return {
        "grey": grey,
        "grey 3-D": grey[:, :, None],
        "grey+alpha": np.dstack([grey, alpha]),
        "equal BGR": bgr,
        "equal BGRA": np.dstack([bgr, alpha]),
    }


def grey_picture(lightness: np.ndarray) -> np.ndarray:
    """8-bit BGR of a grey picture with this L (CIE Lab, 0-100)."""
    lab = cv2.merge([lightness, np.zeros_like(lightness), np.zeros_like(lightness)])
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) * 255 + 0.5, 0, 255).astype(np.uint8)
