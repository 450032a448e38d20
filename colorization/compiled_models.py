"""The cache of compiled models: each Caffe model and option set translated to ONNX once (a few seconds) and reused.

A compiled file lives beside the caffemodel (or in a per-user cache when that folder is read-only), named by a hash
of the sources' identity and the options, so a different temperature, size or source file gets its own, and only
the few most recently used are kept.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
import re
import time
from pathlib import Path

from .atomic import write_bytes_atomically
from .caffe_format import first, parse_prototxt, read_caffemodel
from .errors import ModelFileError
from .model import OUTPUT_LAYER, SCALE_LAYER
from .model_files import ModelFiles, fetch_command, load_points, user_cache_dir
from .onnx_convert import ConversionError, convert
from .paths import display_path

log = logging.getLogger(__name__)

CONVERTER_VERSION = 4
"""Part of the cache key: raise it whenever the graph onnx_convert writes changes."""
CACHE_ENV = "COLORIZE_CACHE_DIR"
KEEP_COMPILED = 4


def file_identity(path: Path) -> list[int]:
    """What tells this file's bytes apart without reading them: size, modification time (ns) and which file it is
    (device and inode), as `make` would. Reading the 129 MB weights on every start would cost more than the rest of
    the start-up; a file rewritten in place, or replaced by another of the same size, changes its time or inode."""
    status = path.stat()
    return [status.st_size, status.st_mtime_ns, status.st_dev, status.st_ino]


def cache_key(files: ModelFiles, scale: float, size: int) -> str:
    """The compiled model's key: the sources' identity (the full SHA-256 is for --verify and fetching) and options."""
    description = {
        "converter": CONVERTER_VERSION,
        "prototxt": file_identity(files.prototxt.path),
        "caffemodel": file_identity(files.caffemodel.path),
        "points": file_identity(files.points.path),
        "scale": float(scale).hex(),
        "size": size,
    }
    return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()


def cache_directories(files: ModelFiles) -> list[Path]:
    """Beside the caffemodel first; a per-user cache when that folder is read-only (a shared model install)."""
    if os.environ.get(CACHE_ENV):
        return [Path(os.environ[CACHE_ENV]).expanduser()]
    return [files.caffemodel.path.parent, user_cache_dir()]


def compiled_name(files: ModelFiles, size: int, key: str) -> str:
    return f"{files.caffemodel.path.stem}.{size}px.{key[:16]}.onnx"


def runtime_copy_path(path: Path, runtime: str, key: str, suffix: str = ".onnx") -> Path:
    """Where a runtime keeps its own form of the compiled model `path` (faster to load); it goes when `path` goes."""
    return path.with_name(f"{path.stem}.{runtime}-{key[:16]}{suffix}")


def mark_used(path: Path) -> None:
    """Set the access time (kept apart from the build time, the modification time) for `remove_least_recently_used`."""
    try:
        os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))
    except OSError:
        pass


def remove_least_recently_used(directory: Path, stem: str) -> None:
    """Keep the KEEP_COMPILED most recently used compiled models of one caffemodel: each is as big as the weights,
    and those of replaced weights or of options tried once would otherwise pile up."""
    pattern = re.compile(rf"{re.escape(stem)}\.\d+px\.[0-9a-f]{{16}}\.onnx")
    compiled = []
    for path in directory.iterdir():
        if not pattern.fullmatch(path.name):
            continue
        try:
            compiled.append((path.stat().st_atime_ns, path))
        except OSError:
            continue
    for _, path in sorted(compiled, reverse=True)[KEEP_COMPILED:]:
        for removed in [path, *directory.glob(f"{glob.escape(path.stem)}.*-*.*")]:
            try:
                removed.unlink()
            except OSError:
                continue
        log.info("removed the least recently used compiled model %s", display_path(path))


def build(files: ModelFiles, scale: float, size: int) -> bytes:
    """The serialized ONNX model, converted from the Caffe files."""
    try:
        import onnx  # noqa: F401  (only building needs it; a cached model runs without)
    except ImportError:
        raise ConversionError("compiling the model to ONNX needs the onnx package (pip install onnx)") from None
    caffemodel = files.caffemodel
    try:
        weights = read_caffemodel(caffemodel.path)
    except ValueError as error:
        fix = f"run {fetch_command()}" if caffemodel.release is not None else "replace it with the real file"
        raise ModelFileError(f"{display_path(caffemodel.path)} is not a valid caffemodel ({error}): {fix}") from None
    shown = display_path(files.prototxt.path)
    try:
        net = parse_prototxt(files.prototxt.path.read_text())
    except (ValueError, IndexError, UnicodeDecodeError) as error:
        raise ModelFileError(f"{shown} is not a valid prototxt ({error or 'it ends early'}): check the file") from None
    if net.get("layers") and not net.get("layer"):
        raise ConversionError("the ONNX converter reads prototxts of `layer` entries, not the old `layers` ones")
    layer_names = {first(layer, "name") for layer in net.get("layer", [])}
    for required in (OUTPUT_LAYER, SCALE_LAYER):
        if required not in layer_names:
            raise ModelFileError(f"{shown} has no layer {required!r}: it is not a colorization model prototxt")
    model = convert(net, weights, load_points(files.points.path), scale, size)
    del weights  # the model holds its own copy: serializing makes a third, not a fourth
    return model.SerializeToString()


def compiled_model(files: ModelFiles, scale: float, size: int) -> Path:
    """The path of the ONNX form of these (checked) files and options, building it the first time."""
    key = cache_key(files, scale, size)
    name = compiled_name(files, size, key)
    directories = cache_directories(files)
    for directory in directories:
        if (directory / name).is_file():
            mark_used(directory / name)
            return directory / name
    log.info("compiling %s to ONNX for %dx%d input (once; cached)", display_path(files.caffemodel.path), size, size)
    data = build(files, scale, size)
    for directory in directories:
        path = directory / name
        try:
            directory.mkdir(parents=True, exist_ok=True)
            write_bytes_atomically(path, data)
        except OSError as error:
            log.info("cannot cache the compiled model in %s (%s)", display_path(directory), error.strerror or error)
            continue
        log.info("compiled model: %s", display_path(path))
        mark_used(path)
        remove_least_recently_used(directory, files.caffemodel.path.stem)
        return path
    raise ModelFileError(
        f"cannot write the compiled model into {' or '.join(display_path(d) for d in directories)}: "
        f"set {CACHE_ENV} to a writable folder"
    )
