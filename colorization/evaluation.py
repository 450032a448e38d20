"""Scoring colorization settings on colour photos taken as ground truth.

The model sees only each photo's lightness, and the colorized result is compared with the original (PSNR and SSIM
over RGB, 0-1 scale) and rated for colourfulness (Hasler & Süsstrunk; about 15 slightly, 33 moderately, 59 quite,
82 highly colourful). The plain grey picture is scored the same way: a setting that does not beat grey on PSNR adds
wrong colour rather than right colour.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from . import metrics
from .batch.listing import list_folder
from .engines.base import precision_fallbacks_unsaid
from .errors import UsageError
from .image_io import READ_EXTENSIONS, read_image, write_image
from .model import annealing_scale
from .outputs import create_parent
from .paths import display_path
from .pipeline import Colorizer
from .preparation import split_alpha, to_unit_float

GREY_CHROMA = 1.0
"""Photos whose mean |ab| is below this carry no colour to compare against and are skipped."""


@dataclass
class Score:
    name: str
    psnr: float
    ssim: float
    colourfulness: float
    original_colourfulness: float
    grey_psnr: float
    grey_ssim: float


def find_photos(folder: Path, recursive: bool) -> list[Path]:
    if not folder.is_dir():
        raise UsageError(f"{display_path(folder)} is not a folder: pass a folder of colour photos")
    photos = [folder / relative for relative in list_folder(folder, recursive).images]
    if not photos:
        raise UsageError(f"no pictures in {display_path(folder)} (looked for {', '.join(READ_EXTENSIONS)})")
    return photos


def grey_of(original: np.ndarray) -> np.ndarray:
    """The photo with its colour removed exactly as the model sees it: same L, a = b = 0."""
    lab = cv2.cvtColor(original, cv2.COLOR_BGR2Lab)
    lab[:, :, 1:] = 0
    return cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)


def read_truth(folder: Path, path: Path) -> tuple[Path, np.ndarray, np.ndarray] | None:
    """The photo's name below `folder`, the photo as read and as [0, 1] floats; None for a picture without colour.
    Raises ColorizationError for one that cannot be read."""
    colour, _ = split_alpha(read_image(path))
    original = to_unit_float(colour)
    if np.abs(cv2.cvtColor(original, cv2.COLOR_BGR2Lab)[:, :, 1:]).mean() < GREY_CHROMA:
        return None
    return path.relative_to(folder), colour, original


def save_result(save_to: Path | None, name: Path, result: np.ndarray, suffix: str = "") -> None:
    if save_to is not None:
        destination = save_to / name.parent / f"{name.stem}{suffix}.png"
        create_parent(destination)
        write_image(destination, result)


def score_result(name: Path, result: np.ndarray, original: np.ndarray) -> Score:
    result = to_unit_float(result)
    grey = grey_of(original)
    return Score(
        name.as_posix(),
        metrics.psnr(result, original, 1.0),
        metrics.ssim(result, original, 1.0),
        metrics.colourfulness(result * 255),
        metrics.colourfulness(original * 255),
        metrics.psnr(grey, original, 1.0),
        metrics.ssim(grey, original, 1.0),
    )


def score_photo(colorizer: Colorizer, folder: Path, path: Path, save_to: Path | None) -> Score | None:
    """None for a picture without colour; raises ColorizationError for one that cannot be read."""
    truth = read_truth(folder, path)
    if truth is None:
        return None
    name, colour, original = truth
    result = colorizer.colorize(colour)
    save_result(save_to, name, result)
    return score_result(name, result, original)


@dataclass
class PrecisionComparison:
    """One photo scored in fp32 and in a reduced precision, and how close the two results are to each other."""

    reference: Score
    compared: Score
    psnr_between: float
    """PSNR of the reduced precision's picture against fp32's (0-1 scale): infinite when they are identical."""


def load_for_comparison(load: Callable[..., Colorizer], precision: str, engine: str) -> tuple[Colorizer, Colorizer]:
    """fp32 and `precision`, each loaded once by `load(precision=..., engine=...)`, on the same engine when
    `engine` is auto so that only the arithmetic differs. A precision that cannot run here is refused in one line
    with the engine's reason, rather than fp32 scored against itself."""
    with precision_fallbacks_unsaid():
        compared = load(precision=precision, engine=engine)
    if compared.engine.precision != precision:
        reason = compared.engine.precision_fallback or f"{compared.engine.description} runs fp32"
        raise UsageError(
            f"--compare-precision {precision} cannot run here: {reason}; nothing was scored (leave it out to score fp32 alone)"
        )
    reference = load(precision="fp32", engine=compared.engine.name if engine == "auto" else engine)
    return reference, compared


def compare_photo(
    reference: Colorizer, compared: Colorizer, folder: Path, path: Path, save_to: Path | None
) -> PrecisionComparison | None:
    """Both results from one preparation of the photo; the reduced precision's saved as NAME.PRECISION.png beside
    fp32's NAME.png. None for a picture without colour; raises ColorizationError for one that cannot be read."""
    truth = read_truth(folder, path)
    if truth is None:
        return None
    name, colour, original = truth
    prepared = reference.prepare(colour)
    results = [colorizer.compose(prepared, colorizer.predict_ab([prepared])[0]) for colorizer in (reference, compared)]
    save_result(save_to, name, results[0])
    save_result(save_to, name, results[1], f".{compared.engine.precision}")
    return PrecisionComparison(
        score_result(name, results[0], original),
        score_result(name, results[1], original),
        metrics.psnr(to_unit_float(results[1]), to_unit_float(results[0]), 1.0),
    )


def settings_summary(colorizer: Colorizer, variant: str, temperature: float | None) -> str:
    upsample = colorizer.upsample
    detail = f" ({upsample.spatial_sigma:g} cell, {upsample.range_sigma:g} L)" if upsample.method == "guided" else ""
    shown_temperature = f"{1 / annealing_scale(temperature):.3g}" + ("" if temperature is not None else " (release)")
    return (
        f"variant {variant}, temperature {shown_temperature}, saturation {colorizer.saturation:g}, "
        f"upsample {upsample.method}{detail}, size {colorizer.size}, precision {colorizer.engine.precision}"
    )
