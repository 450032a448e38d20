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


def temporaries(folder: Path) -> list[tuple[Path, Path, int]]:
    """(temporary, the output it was to become, its writer's process id) for each temporary in `folder`."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for name in names:
        match = PARTIAL_NAME.fullmatch(name)
        if match:
            meant_for = Path(folder) / f"{match['stem']}{match['suffix'] or ''}"
            found.append((Path(folder) / name, meant_for, int(match["pid"])))
    return found


def abandoned_temporaries(folder: Path) -> list[tuple[Path, Path]]:
    """(temporary, the output it was to become) for each temporary in `folder` whose writer was killed mid-write."""
    return [(temporary, meant_for) for temporary, meant_for, pid in temporaries(folder) if writer_gone(pid)]


def remove_abandoned_temporaries(folder: Path, outputs, writers_ended: bool = False) -> list[Path]:
    """Delete the temporaries a killed run left in `folder` for any of `outputs`; the paths removed.

    `writers_ended`: the caller knows that every writer of these outputs has ended (a cluster run once all its
    writing tasks are settled), so each temporary for them goes, whatever process id it names: on a cluster that
    id is another machine's, and says nothing about the processes here."""
    wanted = {Path(output) for output in outputs}
    removed = []
    for temporary, meant_for, pid in temporaries(folder):
        if meant_for in wanted and (writers_ended or writer_gone(pid)):
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
            removed.append(temporary)
    return removed
