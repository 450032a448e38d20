"""Folder trees of small pictures and ways to run the batch command on them, for the tests of colorization.batch
and of its Ray middle."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

from colorization.commands import batch as batch_command
from colorization.commands import running
from tests.support import REPO
from tests.support.checks import mean_chroma


def scan(height=48, width=64, seed=0) -> np.ndarray:
    """A small grey picture with a gradient, an edge and grain."""
    rng = np.random.default_rng(seed)
    gradient = (
        np.linspace(30, 220, width, dtype=np.float32)[None, :] + np.linspace(-20, 20, height, dtype=np.float32)[:, None]
    )
    gradient[height // 3 : height // 2, width // 4 : width // 2] = 90
    return np.clip(gradient + rng.normal(0, 5, (height, width)), 0, 255).astype(np.uint8)


def put_picture(path: Path, height=48, width=64, seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(path.suffix, scan(height, width, seed))
    assert ok
    path.write_bytes(data.tobytes())
    return path


def two_tone(path: Path) -> Path:
    """A picture dark on the left, light on the right: colour hints on either side show."""
    picture = np.full((60, 80), 170, np.uint8)
    picture[:, :38] = 80
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), picture)
    return path


def make_tree(root: Path) -> Path:
    """Same-named pictures in nested folders (each its own size, to tell them apart), plus a hidden file and folder."""
    put_picture(root / "photo.jpg", 40, 60, 1)
    put_picture(root / "1950s" / "photo.jpg", 44, 66, 2)
    put_picture(root / "1950s" / "beach" / "photo.jpg", 50, 70, 3)
    put_picture(root / "1960s" / "photo.png", 52, 72, 4)
    put_picture(root / "1960s" / "portrait.JPEG", 56, 76, 5)
    put_picture(root / ".thumbnails" / "photo.jpg", 10, 10, 6)
    (root / ".DS_Store").write_bytes(b"\0\1")
    return root


def run_batch(*arguments) -> subprocess.CompletedProcess:
    """batch_colorize.py in its own process, as users run it."""
    return subprocess.run(
        [sys.executable, str(REPO / "batch_colorize.py"), *map(str, arguments)], capture_output=True, text=True
    )


def run_in_process(*arguments) -> int:
    """Faster than a subprocess for the many small runs; same code, same exit codes."""
    return running.run(batch_command.main, [str(argument) for argument in arguments])


def files_under(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def is_colourful(path: Path) -> bool:
    return mean_chroma(cv2.imread(str(path))) > 5


def snapshot(folder: Path) -> dict:
    """Modification time, inode and content of every file: a rename-into-place gives a new inode."""
    state = {}
    for name in files_under(folder):
        status = (folder / name).stat()
        state[name] = (status.st_mtime_ns, status.st_ino, (folder / name).read_bytes())
    return state
