"""What a folder's run is asked to do: the batch command fills it from its options, every other room reads it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..image_io import DEFAULT_MAX_PIXELS, READ_EXTENSIONS


def default_workers() -> int:
    """One reading and one writing thread, two from 4 cores: the network already keeps every core busy, and each
    writing thread holds a picture's full-size colour while it works."""
    return 2 if (os.cpu_count() or 1) >= 4 else 1


@dataclass
class BatchSettings:
    """What to colorize and how; the script fills it from its options."""

    input_root: Path
    output_root: Path
    recursive: bool = True
    patterns: tuple[str, ...] = ()
    extensions: tuple[str, ...] = READ_EXTENSIONS
    output_extension: str | None = None
    suffix: str = ""
    overwrite: bool = False
    shard: tuple[int, int] = (1, 1)
    report: Path | None = None
    workers: int = field(default_factory=default_workers)
    batch_size: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS
