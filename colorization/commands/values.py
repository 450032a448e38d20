"""argparse types for numbers: a finite value of the right kind within its range, or a usage error that names the
range (exit 2, one line), before anything is loaded."""

from __future__ import annotations

import argparse
import math

from ..model import MAX_SIZE, MIN_SIZE
from ..picture_header import OPENCV_MAX_PIXELS


def number_from(low: float, high: float, whole: bool = False, example: str = ""):
    """An argparse type for a finite number from `low` to `high` (a whole one when `whole`): words, NaN, infinity
    and numbers out of range are usage errors that name the range, before anything is loaded."""

    def parse(text: str):
        try:
            value = float(text)
            value = int(value) if whole and value.is_integer() else value
        except (ValueError, OverflowError):
            value = math.nan
        if not (low <= value <= high) or (whole and not isinstance(value, int)):
            kind, ends = ("a whole number", (int(low), int(high))) if whole else ("a number", (f"{low:g}", f"{high:g}"))
            raise argparse.ArgumentTypeError(f"{text!r}: give {kind} from {ends[0]} to {ends[1]}{example}")
        return value

    parse.__name__ = "whole number" if whole else "number"
    return parse


MAX_THREADS = 64
"""More reading or writing threads than this only hold more pictures in memory at once."""
MAX_BATCH = 256
"""Pictures per forward pass: each one waiting for its batch holds its full-size lightness."""
count = number_from(1, MAX_THREADS, whole=True)
"""A whole number of threads or workers, at least 1."""
non_negative = number_from(0, 64, example=", e.g. 1 or 0.5")
"""GPUs per Ray worker: a fraction or a few."""
pixel_count = number_from(0, OPENCV_MAX_PIXELS, whole=True, example=", e.g. 200000000, or 0 for no limit")
"""A number of pixels, 0 for no limit (OpenCV's own ceiling is the most)."""


def network_size(text: str) -> int:
    """--size, checked by the model's own rule before anything loads."""
    size = number_from(MIN_SIZE, MAX_SIZE, whole=True)(text)
    if size % 8:
        raise argparse.ArgumentTypeError(f"{text!r}: give a multiple of 8 (the net halves its input three times)")
    return size
