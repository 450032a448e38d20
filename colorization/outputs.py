"""Where each output goes, decided once for every command before any model loads: beside each input or in -o,
never over an input, never two inputs onto one output."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Collection

from .errors import UsageError
from .paths import display_path

COMPARE_SUFFIX = "_compare"


def default_output(source: Path, suffix: str, directory: Path | None = None) -> Path:
    return (directory or source.parent) / f"{source.stem}{suffix}{source.suffix}"


def is_directory_target(output: Path, count: int) -> bool:
    """`-o` names a folder when it is one, ends with a separator, or several inputs must share it."""
    return output.is_dir() or str(output).endswith((os.sep, "/")) or count > 1


def plan_outputs(
    sources: list[Path], output: Path | None, suffix: str, file_suffixes: Collection[str] | None = None
) -> list[tuple[Path, Path]]:
    """Pair every input with its output; refuse plans that would overwrite an input or write one file twice.

    `file_suffixes` are the extensions that make `-o` look like one file (None: any extension does)."""
    if output is not None and is_directory_target(output, len(sources)):
        looks_like_file = output.suffix and (file_suffixes is None or output.suffix.lower() in file_suffixes)
        if looks_like_file and not output.is_dir():
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
