"""The one registry of model files: what the release files are, where they live, and whether a file on disk is one.

Every command resolves its model files here, so `--model-dir`, `COLORIZE_MODEL_DIR` and the per-file overrides
mean the same thing everywhere, and damaged downloads are named before OpenCV sees them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import platformdirs

from .errors import ModelFileError
from .model import CLUSTER_COUNT
from .paths import display_path

MODEL_DIR_ENV = "COLORIZE_MODEL_DIR"
SOURCE_TREE = Path(__file__).resolve().parent.parent
"""The folder above the package: a clone of the repository when it holds the scripts, site-packages when installed."""


def running_from_clone() -> bool:
    return (SOURCE_TREE / "fetch_models.py").is_file()


def user_cache_dir() -> Path:
    """The per-user cache (~/.cache/colorization on Linux, the platform's own elsewhere)."""
    return Path(platformdirs.user_cache_dir("colorization", appauthor=False))


def default_model_dir() -> Path:
    """models/ beside the scripts in a clone; installed, the per-user cache, never site-packages."""
    return SOURCE_TREE / "models" if running_from_clone() else user_cache_dir() / "models"


def fetch_command() -> str:
    """The fetch command as this user has it: the script in a clone, the installed command otherwise."""
    return "python fetch_models.py" if running_from_clone() else "colorize-fetch"


RICHZHANG_COMMIT = "a1642d6ac6fc80fe08885edba34c166da09465f6"
RICHZHANG_RAW = f"https://raw.githubusercontent.com/richzhang/colorization/{RICHZHANG_COMMIT}"
OPENVINO_STORAGE = "https://storage.openvinotoolkit.org/repositories/datumaro/models/colorization"


@dataclass(frozen=True)
class ReleaseFile:
    """A file published with the model, pinned by size and SHA-256: its hash, never its source, makes it genuine."""

    name: str
    size: int
    sha256: str
    sources: tuple[str, ...]


PROTOTXT = ReleaseFile(
    "colorization_deploy_v2.prototxt",
    9945,
    "d16418cef8df4ccd703a55ae0ef3960861d5010418f77c90d0a47689998a7169",
    (
        f"{RICHZHANG_RAW}/colorization/models/colorization_deploy_v2.prototxt",
        f"{OPENVINO_STORAGE}/colorization_deploy_v2.prototxt",
    ),
)
POINTS = ReleaseFile(
    "pts_in_hull.npy",
    5088,
    "b5dec01315c34f43f1c8c089e84c45ae35d1838d8e77ed0e7ca930f79ffa450e",
    (
        f"{RICHZHANG_RAW}/colorization/resources/pts_in_hull.npy",
        f"{OPENVINO_STORAGE}/pts_in_hull.npy",
    ),
)
CAFFEMODELS = {
    "release": ReleaseFile(
        "colorization_release_v2.caffemodel",
        128946764,
        "f5af1e602646328c792e1094f9876fe9cd4c09ac46fa886e5708a1abc89137b1",
        # Most dependable first: the learnopencv release asset publishes this very SHA-256; the original
        # Berkeley link has been dead since 2024 (richzhang/colorization#112) and is kept last in case it returns.
        (
            "https://github.com/spmallick/learnopencv/releases/download/Colorization/colorization_release_v2.caffemodel",
            f"{OPENVINO_STORAGE}/colorization_release_v2.caffemodel",
            "https://www.dropbox.com/s/dx0qvhhp5hbcx7z/colorization_release_v2.caffemodel?dl=1",
            "http://eecs.berkeley.edu/~rich.zhang/projects/2016_colorization/files/demo_v2/colorization_release_v2.caffemodel",
        ),
    ),
    "norebal": ReleaseFile(
        "colorization_release_v2_norebal.caffemodel",
        128946454,
        "6ab42a7fa853eb7ca822b9a0a2997a08a29c819c985c3e70b460c6be9c8b2159",
        (
            f"{OPENVINO_STORAGE}/colorization_release_v2_norebal.caffemodel",
            "http://eecs.berkeley.edu/~rich.zhang/projects/2016_colorization/files/demo_v2/colorization_release_v2_norebal.caffemodel",
        ),
    ),
}
VARIANTS = tuple(CAFFEMODELS)


def release_files(variant: str = "release") -> tuple[ReleaseFile, ReleaseFile, ReleaseFile]:
    """The prototxt, caffemodel and points of one published variant."""
    return PROTOTXT, CAFFEMODELS[variant], POINTS


def all_release_files() -> tuple[ReleaseFile, ...]:
    """Every file the registry knows, so a file the user already has can be recognised by its hash whatever its name."""
    return (PROTOTXT, POINTS, *CAFFEMODELS.values())


def resolve_model_dir(model_dir: str | os.PathLike | None = None) -> Path:
    """`--model-dir`, else `COLORIZE_MODEL_DIR`, else the default folder (see default_model_dir)."""
    if model_dir:
        return Path(model_dir).expanduser()
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    return default_model_dir()


@dataclass(frozen=True)
class ModelFile:
    """One file the network needs; `release` is set when it is a managed release file whose size is known."""

    path: Path
    release: ReleaseFile | None


@dataclass(frozen=True)
class ModelFiles:
    prototxt: ModelFile
    caffemodel: ModelFile
    points: ModelFile

    @classmethod
    def resolve(
        cls,
        model_dir: str | os.PathLike | None = None,
        prototxt: str | os.PathLike | None = None,
        caffemodel: str | os.PathLike | None = None,
        points: str | os.PathLike | None = None,
        variant: str = "release",
    ) -> ModelFiles:
        """Release files from the model directory, each replaceable by an explicit path (never size-checked)."""
        directory = resolve_model_dir(model_dir)
        chosen = []
        for override, release in zip((prototxt, caffemodel, points), release_files(variant)):
            if override:
                chosen.append(ModelFile(Path(override).expanduser(), None))
            else:
                chosen.append(ModelFile(directory / release.name, release))
        return cls(*chosen)

    def __iter__(self):
        return iter((self.prototxt, self.caffemodel, self.points))

    def check(self) -> None:
        """Raise ModelFileError naming the first problem a user can fix, before OpenCV gives a cryptic one."""
        for model_file, largest in zip(self, LARGEST_OWN_FILES):
            check_model_file(model_file, largest)
        load_points(self.points.path)


LFS_POINTER_PREFIX = b"version https://git-lfs"
HTML_PREFIXES = (b"<!doctype html", b"<html", b"<head", b"<?xml")


def sniff_bytes(head: bytes) -> str | None:
    """Name what the first bytes of a file really are when it is a well-known impostor: a Git LFS pointer or a web page."""
    if head.startswith(LFS_POINTER_PREFIX):
        return "a Git LFS pointer, not the model"
    if head.lstrip().lower().startswith(HTML_PREFIXES):
        return "a web page (HTML), not the model: the download link served an error or login page"
    return None


def sniff(path: Path) -> str | None:
    with open(path, "rb") as handle:
        head = handle.read(512)
    return sniff_bytes(head) or (caffemodel_start_problem(head) if path.suffix.lower() == ".caffemodel" else None)


PROTOBUF_WIRE_TYPES = (0, 1, 2, 5)


def caffemodel_start_problem(head: bytes) -> str | None:
    """A caffemodel is a protobuf message: its first byte is a field tag (a field number above 0 and a known wire
    type). Zeros (a blanked or unfinished download) and other data are named here, in a moment, instead of after
    reading the whole file."""
    if not head:
        return "empty (0 bytes), not a Caffe model"
    if not head.strip(b"\x00"):
        return "all zero bytes at its start, not a Caffe model (an unfinished or blanked download)"
    if head[0] >> 3 == 0 or head[0] & 7 not in PROTOBUF_WIRE_TYPES:
        return "not a Caffe model: it does not start with a protobuf field"
    return None


MISSING = "is missing"


def release_file_problem(path: Path, release: ReleaseFile, verify_hash: bool = False) -> str | None:
    """What keeps a file on disk from being `release` ("is missing", "is a Git LFS pointer...", ...), or None.

    Size and content sniffing are cheap enough for every load, and so is the SHA-256 of the small files (the
    prototxt, the points), so a same-size edit is named; the caffemodel's reads 129 MB, so it is asked for.
    """
    if not path.is_file():
        return MISSING
    impostor = sniff(path)
    if impostor:
        return f"is {impostor}"
    size = path.stat().st_size
    if size != release.size:
        return f"is {size} bytes, not the {release.size} of the release file (truncated or a different file)"
    if (verify_hash or not release.name.endswith(".caffemodel")) and sha256_of(path) != release.sha256:
        return "has the release file's size but not its SHA-256 (damaged or a different file)"
    return None


LARGEST_OWN_FILES = (1 << 20, 4 * CAFFEMODELS["release"].size, None)
"""A network definition or weights far beyond the release's (10 KB, 129 MB) cannot be a colorization model: such a
file is named before OpenCV reads it all into memory (the points' .npy header is checked before its data)."""


def check_model_file(model_file: ModelFile, largest: int | None = None) -> None:
    path, release = model_file.path, model_file.release
    shown = display_path(path)
    if release is None:
        if not path.exists():
            raise ModelFileError(f"{shown} does not exist: check the path you passed")
        if not path.is_file():
            raise ModelFileError(
                f"{shown} is not a regular file (a folder, pipe or device): pass the model file itself"
            )
        if largest and path.stat().st_size > largest:
            raise ModelFileError(
                f"{shown} is {path.stat().st_size / 1e6:.0f} MB, far more than the colorization model's file "
                f"({largest / 1e6:.0f} MB at most): check the path you passed"
            )
        impostor = sniff(path)
        if impostor:
            raise ModelFileError(f"{shown} is {impostor}: replace it with the real file")
        return
    problem = release_file_problem(path, release)
    if problem:
        also = " (or pass --model-dir DIR)" if problem == MISSING else ""
        check = (
            ""
            if problem == MISSING
            else " --check (it names every damaged file), then without --check to fetch it again"
        )
        raise ModelFileError(f"{shown} {problem}: run {fetch_command()}{check}{also}")


NPY_MAGIC = b"\x93NUMPY"
AB_LIMIT = 128
"""No colour of CIE Lab that a picture can show has a or b beyond this."""


def load_points(path: Path) -> np.ndarray:
    """The 313 ab cluster centres as float32. Pickles, other shapes, values that are not real numbers (text,
    complex), NaN, infinite and out-of-gamut values are refused: each would give garbage colours, or none, without
    a word. The shape and type come from the file's header, before its data is read."""
    shown, fix = display_path(path), f"run {fetch_command()}"
    try:
        with open(path, "rb") as handle:
            if handle.read(len(NPY_MAGIC)) != NPY_MAGIC:
                raise ModelFileError(f"{shown} is not a NumPy .npy file (empty or other data): {fix}")
            handle.seek(0)
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(handle)
            if shape != (CLUSTER_COUNT, 2):
                raise ModelFileError(
                    f"{shown} holds an array of shape {shape}, not the {CLUSTER_COUNT}x2 ab cluster centres: {fix}"
                )
            if dtype.kind not in "iuf":
                raise ModelFileError(f"{shown} holds {dtype} values, not the numbers of ab cluster centres: {fix}")
            handle.seek(0)
            points = np.load(handle, allow_pickle=False)
    except (ValueError, OSError, EOFError, TypeError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise ModelFileError(f"{shown} is not a NumPy array file ({reason}): {fix}") from None
    if not np.isfinite(points).all():
        raise ModelFileError(f"{shown} holds NaN or infinite values, not ab cluster centres: {fix}")
    if np.abs(points).max() > AB_LIMIT:
        raise ModelFileError(f"{shown} holds values beyond +-{AB_LIMIT}, outside the ab colours of CIE Lab: {fix}")
    return points.astype(np.float32)


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()
