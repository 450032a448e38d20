"""How paths are shown to people: as short as they would type them."""
from __future__ import annotations

from pathlib import Path


def display_path(path) -> str:
    """Relative to the working directory when inside it, else as given; never raises (a link loop included)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError, RuntimeError):
        return str(path)
