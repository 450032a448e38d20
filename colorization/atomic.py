"""Outputs appear under their final name only when complete, so an interrupted run never leaves a file that looks done."""

from __future__ import annotations

import contextlib
import os
import re
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
        # OSError, not only FileNotFoundError: in a folder that refused the write, the cleanup must not hide why.
        with contextlib.suppress(OSError):
            temporary.unlink()


def write_bytes_atomically(path: Path, data) -> None:
    with atomic_output(path) as temporary, open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


PARTIAL_NAME = re.compile(r"\.(?P<stem>.*)" + re.escape(PARTIAL_MARKER) + r"(?P<pid>\d+)(?P<suffix>\.[^.]*)?")


def writer_gone(pid: int) -> bool:
    """True when no process `pid` runs here; our own id counts as gone (a killed run's id, reused after it)."""
    if pid == os.getpid():
        return True
    if os.name == "nt":
        return False  # os.kill would terminate the process there; leaving a hidden temporary is harmless
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def abandoned_temporaries(folder: Path) -> list[tuple[Path, Path]]:
    """(temporary, the output it was to become) for each temporary in `folder` whose writer was killed mid-write."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        match = PARTIAL_NAME.fullmatch(name)
        if match and writer_gone(int(match["pid"])):
            found.append((Path(folder) / name, Path(folder) / f"{match['stem']}{match['suffix'] or ''}"))
    return found


def remove_abandoned_temporaries(folder: Path, outputs) -> list[Path]:
    """Delete the temporaries a killed run left in `folder` for any of `outputs`; the paths removed."""
    wanted = {Path(output) for output in outputs}
    removed = []
    for temporary, meant_for in abandoned_temporaries(folder):
        if meant_for in wanted:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            removed.append(temporary)
    return removed
