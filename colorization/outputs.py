"""Where each output goes, decided once for every command before any model loads: beside each input or in -o,
never over an input, never two inputs onto one output, and an output that cannot be written named at once."""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from .errors import OutputError, UsageError
from .image_io import writable_extension
from .paths import display_path

COMPARE_SUFFIX = "_compare"
EXISTS_NOTE = "exists (--overwrite to replace it)"
"""The one wording for an input skipped because its output exists, in every command: `skipped IN: OUT exists ...`."""
OUTPUT_EXISTS = f"output {EXISTS_NOTE}"
"""The same, as the reason on a folder report's line (the line names the output)."""


def default_output(
    source: Path, suffix: str, directory: Path | None = None, extensions: Collection[str] | None = None
) -> Path:
    """NAME{suffix}.EXT in `directory` (default: beside the input); with `extensions` (the writable ones), an input
    type that cannot be written (GIF, PGM...) gets PNG instead."""
    extension = source.suffix if extensions is None else writable_extension(source.suffix, extensions)
    return (directory or source.parent) / f"{source.stem}{suffix}{extension}"


def check_suffix(suffix: str) -> str:
    """--suffix is added to a file's name, never a way to another folder: the one rule of every command."""
    if any(mark in suffix for mark in ("/", "\\", "\0", os.sep)) or suffix in (".", ".."):
        raise UsageError(
            f"--suffix {suffix!r} must be part of a file name: no /, \\ or '..' (choose -o or the output folder for where files go)"
        )
    return suffix


def check_file_extension(output: Path, file_suffixes: Collection[str]) -> None:
    """One output file named by -o must be a type the command writes, said before the model loads."""
    extension = output.suffix.lower()
    if extension not in file_suffixes:
        what = f"{output.suffix} files" if extension else "a file without an extension"
        raise UsageError(
            f"-o {output}: cannot write {what}: name it with one of {', '.join(sorted(set(file_suffixes)))}, "
            "or end it with / to make a folder"
        )


def is_directory_target(output: str, count: int) -> bool:
    """`-o` names a folder when it is one, ends with a separator (`-o new_folder/`), or several inputs share it."""
    return Path(output).is_dir() or output.endswith((os.sep, "/")) or count > 1


def plan_outputs(
    sources: list[Path], output: str | Path | None, suffix: str, file_suffixes: Collection[str] | None = None
) -> list[tuple[Path, Path]]:
    """Pair every input with its output; refuse plans that would overwrite an input or write one file twice.

    `output` is -o as typed (a trailing separator means a folder); `file_suffixes` are the extensions that can be
    written, which make `-o` look like one file (None: any extension can)."""
    check_suffix(suffix)
    if output is not None and is_directory_target(str(output), len(sources)):
        folder = Path(output)
        looks_like_file = folder.suffix and (file_suffixes is None or folder.suffix.lower() in file_suffixes)
        if looks_like_file and not folder.is_dir() and not str(output).endswith((os.sep, "/")):
            raise UsageError(f"-o {output} looks like a file, but {len(sources)} inputs need a folder: pass -o DIR/")
        pairs = [(source, default_output(source, suffix, folder, file_suffixes)) for source in sources]
    elif output is not None:
        if file_suffixes is not None:
            check_file_extension(Path(output), file_suffixes)
        pairs = [(sources[0], Path(output))]
    else:
        pairs = [(source, default_output(source, suffix, None, file_suffixes)) for source in sources]
    inputs = {os.path.realpath(source) for source in sources}
    seen: dict[str, Path] = {}
    for source, destination in pairs:
        real = os.path.realpath(destination)
        if real in inputs:
            raise UsageError(
                f"{display_path(destination)} is an input: refusing to overwrite it (choose another -o or --suffix)"
            )
        if real in seen:
            raise UsageError(
                f"{display_path(seen[real])} and {display_path(source)} would both be written to {display_path(destination)}"
            )
        seen[real] = source
    return pairs


def folder_problem(folder: Path, shown: str) -> str | None:
    """Why files cannot be written into `folder` (it cannot be created or written in), found without writing;
    `shown` names what was asked for in the message."""
    folder, missing = Path(folder), False
    while not folder.exists():
        if folder.is_symlink():
            return f"{shown}: {display_path(folder)} is a broken link"
        missing = True
        if folder.parent == folder:
            break
        folder = folder.parent
    if folder.exists() and not folder.is_dir():
        return f"{shown}: cannot create its folder, {display_path(folder)} is a file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{shown}: no permission to {'create a folder in' if missing else 'write in'} {display_path(folder)}"
    return None


def output_problem(destination: Path) -> str | None:
    """Why the file `destination` cannot be written, found without writing."""
    shown = display_path(destination)
    if Path(destination).is_dir():
        return f"{shown} is a folder: name a file, or end -o with / to write into it"
    return folder_problem(Path(destination).parent, shown)


def create_parent(destination: Path) -> None:
    """The output's folder, created if needed; one line naming the output when it cannot be."""
    try:
        Path(destination).parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OutputError(
            f"{display_path(destination)}: cannot create its folder ({error.strerror or error})"
        ) from None


@dataclass
class OutputPlan:
    """The planned pairs sorted before any model loads: to do, kept because their output exists, impossible."""

    todo: list[tuple[Path, Path]] = field(default_factory=list)
    existing: list[tuple[Path, Path]] = field(default_factory=list)
    impossible: list[tuple[Path, Path, str]] = field(default_factory=list)


def sort_outputs(pairs: list[tuple[Path, Path]], overwrite: bool, folders: bool = False) -> OutputPlan:
    """The one rule for existing outputs in every command: kept and skipped unless `overwrite`. With `folders`,
    each destination is a folder to write into (video stills), checked as such and never 'existing'."""
    plan = OutputPlan()
    for source, destination in pairs:
        problem = folder_problem(destination, display_path(destination)) if folders else output_problem(destination)
        if problem:
            plan.impossible.append((source, destination, problem))
        elif destination.exists() and not overwrite and not folders:
            plan.existing.append((source, destination))
        else:
            plan.todo.append((source, destination))
    return plan


def compare_path(destination: Path) -> Path:
    return destination.with_name(f"{destination.stem}{COMPARE_SUFFIX}{destination.suffix}")
