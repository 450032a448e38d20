"""Outputs appear under their final name only when complete, so an interrupted run never leaves a file that looks done."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

PARTIAL_MARKER = ".partial-"


def temporary_path(path: Path) -> Path:
    """A hidden sibling that keeps the extension (encoders choose the format by it) and names this process."""
    return path.with_name(f".{path.stem}{PARTIAL_MARKER}{os.getpid()}{path.suffix}")


@contextlib.contextmanager
def atomic_output(path: Path):
    """Yield a temporary path to write; rename it over `path` on success, delete it on any failure."""
    path = Path(path)
    temporary = temporary_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def write_bytes_atomically(path: Path, data) -> None:
    with atomic_output(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
