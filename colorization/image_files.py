"""Colorizing picture files one after another, keeping one bad input from stopping the rest."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ColorizationError
from .image_io import DEFAULT_MAX_PIXELS, fit_format, read_picture, write_image
from .outputs import compare_path, create_parent
from .paths import display_path
from .pipeline import Colorizer
from .status import Status

log = logging.getLogger(__name__)


@dataclass
class ImageResult:
    source: Path
    destination: Path | None
    status: Status
    reason: str = ""
    seconds: float = 0.0


def side_by_side(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """An 8-bit BGR strip input|output for a quick look, whatever the inputs' depth and channels."""

    def as_bgr8(image: np.ndarray) -> np.ndarray:
        image = fit_format(image, ".jpg")
        if image.ndim == 2 or image.shape[2] == 1:
            return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if image.shape[2] == 2:
            return cv2.cvtColor(np.ascontiguousarray(image[:, :, 0]), cv2.COLOR_GRAY2BGR)
        return image

    return np.hstack([as_bgr8(left), as_bgr8(right)])


def colorize_file(
    colorizer: Colorizer,
    source: Path,
    destination: Path,
    compare: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    hints=(),
) -> ImageResult:
    started = time.perf_counter()
    try:
        picture = read_picture(source, max_pixels)
        colour = colorizer.colorize(picture.image, hints)
        create_parent(destination)
        write_image(destination, colour, picture.metadata)
        if compare:
            write_image(compare_path(destination), side_by_side(picture.image, colour))
    except ColorizationError as error:
        return ImageResult(source, destination, Status.FAILED, str(error), time.perf_counter() - started)
    return ImageResult(source, destination, Status.DONE, seconds=time.perf_counter() - started)


def colorize_files(
    colorizer: Colorizer,
    pairs: list[tuple[Path, Path]],
    compare: bool = False,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    hints=(),
) -> list[ImageResult]:
    """Colorize each (input, output) pair from `outputs.plan_outputs`, with the same colour `hints` for each,
    reporting each failure and going on."""
    results = []
    for source, destination in pairs:
        result = colorize_file(colorizer, source, destination, compare, max_pixels, hints)
        if result.status == Status.DONE:
            log.info("%s -> %s (%.2f s)", display_path(source), display_path(destination), result.seconds)
        else:
            log.error("error: %s", result.reason)
        results.append(result)
    return results
