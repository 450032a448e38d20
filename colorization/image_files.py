"""Colorizing picture files one after another, keeping one bad input from stopping the rest."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ColorizationError
from .image_io import DEFAULT_MAX_PIXELS, read_picture, side_by_side, write_image
from .outputs import compare_path, create_parent
from .paths import display_path
from .pipeline import Colorizer

log = logging.getLogger("colorization")


@dataclass
class ImageResult:
    source: Path
    destination: Path | None
    status: str
    reason: str = ""
    seconds: float = 0.0


def colorize_file(
    colorizer: Colorizer, source: Path, destination: Path, compare: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
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
        return ImageResult(source, destination, "failed", str(error), time.perf_counter() - started)
    return ImageResult(source, destination, "done", seconds=time.perf_counter() - started)


def colorize_files(
    colorizer: Colorizer, pairs: list[tuple[Path, Path]], compare: bool = False, max_pixels: int = DEFAULT_MAX_PIXELS,
    hints=(),
) -> list[ImageResult]:
    """Colorize each (input, output) pair from `outputs.plan_outputs`, with the same colour `hints` for each,
    reporting each failure and going on."""
    results = []
    for source, destination in pairs:
        result = colorize_file(colorizer, source, destination, compare, max_pixels, hints)
        if result.status == "done":
            log.info("%s -> %s (%.2f s)", display_path(source), display_path(destination), result.seconds)
        else:
            log.error("error: %s", result.reason)
        results.append(result)
    return results
