"""How paths are shown to people (as short as they would type them), and what a path leads to."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def display_path(path) -> str:
    """Relative to the working directory when inside it, else as given; links are not followed, so a message names
    the path the user gave (a link to nowhere is named, not where it points). Never raises."""
    try:
        return str(Path(os.path.abspath(path)).relative_to(Path.cwd()))
    except (ValueError, OSError, RuntimeError):
        return str(path)


def is_special(path: Path) -> bool:
    """A FIFO, device or socket (or a link to one), which a folder run never opens: a FIFO without a writer would
    hold the run forever, a device never ends. A link that leads nowhere is left to the reader to report."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def is_inside(path: Path, real_folder: str) -> bool:
    """Whether `path`, its links followed, is in the folder whose real path is `real_folder`."""
    return os.path.realpath(path).startswith(real_folder.rstrip(os.sep) + os.sep)
