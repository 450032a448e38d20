"""Checks several test files make of a picture."""
import cv2
import numpy as np


def mean_chroma(image: np.ndarray) -> float:
    """Mean |a| and |b| of an 8-bit BGR picture in OpenCV's 8-bit Lab (128 is grey): 0 for grey, a few for colour."""
    return float(np.abs(cv2.cvtColor(image, cv2.COLOR_BGR2Lab)[:, :, 1:].astype(int) - 128).mean())
