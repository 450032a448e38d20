"""Which files of a folder tree are pictures to colorize, which are left out and why, and which shard each is in."""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..hints import SIDECAR_SUFFIX
from ..image_io import READ_EXTENSIONS
from ..paths import is_inside, is_special

EXTENSION_FAMILIES = ((".jpg", ".jpeg", ".jpe"), (".tif", ".tiff"))
"""Asking for one spelling of a type means all of them: --ext jpg also takes photo.JPEG."""
HIDDEN_FILE, HIDDEN_FOLDER = "hidden file", "hidden folder"
NOT_A_PICTURE = "not a picture type this tool reads"
OUTPUT_FOLDER = "a link to the output folder: outputs are never read as inputs"
ORPHAN_HINTS = "colour hints for a picture that is not here (PHOTO.hints.json goes beside PHOTO.jpg)"
SPECIAL_FILE = (
    "not a regular file (a pipe, device or socket): reading it could wait forever; pass it with colorize.py -i"
)


@dataclass
class Listing:
    """The files under the input folder, sorted, by what happens to them."""

    images: list[PurePosixPath] = field(default_factory=list)
    ignored: list[tuple[PurePosixPath, str]] = field(default_factory=list)
    """Files and folders left out, with the reason (one of the constants above)."""
    sidecars: set[PurePosixPath] = field(default_factory=set)
    """PHOTO.hints.json files beside a picture: part of that picture's job, never inputs themselves."""
    unlisted: list[tuple[Path, str]] = field(default_factory=list)
    """Folders that could not be listed, with the system's reason."""
    filtered: int = 0
    """Pictures that --ext or --pattern left out."""


def matches(relative: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    """A glob pattern matches the file name or its path below the input folder; no pattern takes everything."""
    return not patterns or any(fnmatch.fnmatch(relative.name, p) or fnmatch.fnmatch(str(relative), p) for p in patterns)


def list_folder(
    root: Path,
    recursive: bool = True,
    extensions: tuple[str, ...] = READ_EXTENSIONS,
    patterns: tuple[str, ...] = (),
    output_root: Path | None = None,
) -> Listing:
    """The pictures below `root`, walked in a fixed order (following links, never twice into the same folder);
    hidden files and folders are left out and listed as such, and so is any folder that is (through a link) the
    output folder or inside it, so outputs are never fed back as inputs."""
    listing = Listing()
    visited: set[str] = set()
    real_output = os.path.realpath(output_root) if output_root is not None else None

    def unlisted(error: OSError) -> None:
        listing.unlisted.append((Path(error.filename), error.strerror or str(error)))

    for folder, subfolders, names in os.walk(root, onerror=unlisted, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:
            subfolders[:] = []
            continue
        visited.add(real)
        relative_folder = PurePosixPath(Path(folder).relative_to(root).as_posix())
        if real_output is not None and (real == real_output or is_inside(Path(real), real_output)):
            listing.ignored.append((relative_folder, OUTPUT_FOLDER))
            subfolders[:] = []
            continue
        if recursive:
            listing.ignored.extend(
                (relative_folder / name, HIDDEN_FOLDER) for name in sorted(subfolders) if name.startswith(".")
            )
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        else:
            subfolders[:] = []
        sort_files(listing, Path(folder), relative_folder, names, extensions, patterns)
    return listing


def sort_files(
    listing: Listing,
    folder: Path,
    relative_folder: PurePosixPath,
    names: list[str],
    extensions: tuple[str, ...],
    patterns: tuple[str, ...],
) -> None:
    """Each file of one folder into the listing: a picture to colorize, a hints sidecar, or left out and why."""
    stems = {os.path.splitext(name)[0] for name in names if os.path.splitext(name)[1].lower() in READ_EXTENSIONS}
    for name in sorted(names):
        relative = relative_folder / name
        extension = relative.suffix.lower()
        if name.startswith("."):
            listing.ignored.append((relative, HIDDEN_FILE))
        elif (extension in READ_EXTENSIONS or name.endswith(SIDECAR_SUFFIX)) and is_special(folder / name):
            listing.ignored.append((relative, SPECIAL_FILE))
        elif name.endswith(SIDECAR_SUFFIX) and name[: -len(SIDECAR_SUFFIX)] in stems:
            listing.sidecars.add(relative)
        elif name.endswith(SIDECAR_SUFFIX):
            listing.ignored.append((relative, ORPHAN_HINTS))
        elif extension not in READ_EXTENSIONS:
            listing.ignored.append((relative, NOT_A_PICTURE))
        elif extension in extensions and matches(relative, patterns):
            listing.images.append(relative)
        else:
            listing.filtered += 1


def in_shard(relative: PurePosixPath, shard: tuple[int, int]) -> bool:
    """A file's slice depends on its path alone, so runs that list the folder at different times still agree."""
    index, count = shard
    digest = hashlib.sha256(str(relative).encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1
