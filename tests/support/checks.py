"""Checks several test files make of a picture."""

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
