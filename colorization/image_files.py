"""Colorizing picture files: where each output goes, and keeping one bad input from stopping the rest."""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import ColorizationError, UsageError
from .image_io import WRITE_FORMATS, read_image, side_by_side, write_image
from .model_files import display_path
from .pipeline import Colorizer

log = logging.getLogger("colorization")

DEFAULT_SUFFIX = "_colorized"
COMPARE_SUFFIX = "_compare"


@dataclass
class FileResult:
    source: Path
    destination: Path | None
    status: str
    reason: str = ""
    seconds: float = 0.0


def default_output(source: Path, suffix: str, directory: Path | None = None) -> Path:
    return (directory or source.parent) / f"{source.stem}{suffix}{source.suffix}"


def is_directory_target(output: Path, count: int) -> bool:
    """`-o` names a folder when it is one, ends with a separator, or several inputs must share it."""
    return output.is_dir() or str(output).endswith((os.sep, "/")) or count > 1


def plan_outputs(sources: list[Path], output: Path | None, suffix: str) -> list[tuple[Path, Path]]:
    """Pair every input with its output; refuse plans that would overwrite an input or write one file twice."""
    if output is not None and is_directory_target(output, len(sources)):
        if output.suffix.lower() in WRITE_FORMATS and not output.is_dir():
            raise UsageError(f"-o {output} looks like a file, but {len(sources)} inputs need a folder: pass -o DIR")
        pairs = [(source, default_output(source, suffix, output)) for source in sources]
    elif output is not None:
        pairs = [(sources[0], output)]
    else:
        pairs = [(source, default_output(source, suffix)) for source in sources]
    inputs = {os.path.realpath(source) for source in sources}
    seen: dict[str, Path] = {}
    for source, destination in pairs:
        real = os.path.realpath(destination)
        if real in inputs:
            raise UsageError(f"{display_path(destination)} is an input: refusing to overwrite it (choose another -o or --suffix)")
        if real in seen:
            raise UsageError(
                f"{display_path(seen[real])} and {display_path(source)} would both be written to {display_path(destination)}"
            )
        seen[real] = source
    return pairs


def compare_path(destination: Path) -> Path:
    return destination.with_name(f"{destination.stem}{COMPARE_SUFFIX}{destination.suffix}")


def colorize_file(colorizer: Colorizer, source: Path, destination: Path, compare: bool = False) -> FileResult:
    started = time.perf_counter()
    try:
        image = read_image(source)
        colour = colorizer.colorize(image)
        destination.parent.mkdir(parents=True, exist_ok=True)
        write_image(destination, colour)
        if compare:
            write_image(compare_path(destination), side_by_side(image, colour))
    except ColorizationError as error:
        return FileResult(source, destination, "failed", str(error), time.perf_counter() - started)
    return FileResult(source, destination, "done", seconds=time.perf_counter() - started)


def colorize_files(colorizer: Colorizer, pairs: list[tuple[Path, Path]], compare: bool = False) -> list[FileResult]:
    """Colorize each (input, output) pair from `plan_outputs`, reporting each failure and going on."""
    results = []
    for source, destination in pairs:
        result = colorize_file(colorizer, source, destination, compare)
        if result.status == "done":
            log.info("%s -> %s (%.2f s)", display_path(source), display_path(destination), result.seconds)
        else:
            log.error("error: %s", result.reason)
        results.append(result)
    return results
