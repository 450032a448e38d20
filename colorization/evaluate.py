"""Score colorization settings on your own colour photos: python -m colorization.evaluate DIR [options]

Each colour photo in DIR is taken as ground truth: the model sees only its lightness, and the colorized result is
compared with the original (PSNR and SSIM over RGB, 0-1 scale) and rated for colourfulness (Hasler & Süsstrunk;
about 15 slightly, 33 moderately, 59 quite, 82 highly colourful). The last line scores the plain grey picture the
same way: a setting that does not beat grey on PSNR adds wrong colour rather than right colour. Run it once per
setting (--temperature, --saturation, --upsample, --variant ...) on the same folder and compare the means.
"""
from __future__ import annotations

import csv
import io
import logging
import sys
from dataclasses import astuple, dataclass, fields
from pathlib import Path

import cv2
import numpy as np

from . import cli, metrics
from .atomic import write_bytes_atomically
from .errors import ColorizationError, UsageError
from .image_io import READ_EXTENSIONS, read_image, write_image
from .model_files import display_path
from .network import annealing_scale
from .pipeline import Colorizer, split_alpha, to_unit_float
from .progress import progress_bar

log = logging.getLogger("colorization")

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
    pattern = "**/*" if recursive else "*"
    photos = sorted(p for p in folder.glob(pattern) if p.is_file() and p.suffix.lower() in READ_EXTENSIONS)
    if not photos:
        raise UsageError(f"no pictures in {display_path(folder)} (looked for {', '.join(READ_EXTENSIONS)})")
    return photos


def grey_of(original: np.ndarray) -> np.ndarray:
    """The photo with its colour removed exactly as the model sees it: same L, a = b = 0."""
    lab = cv2.cvtColor(original, cv2.COLOR_BGR2Lab)
    lab[:, :, 1:] = 0
    return cv2.cvtColor(lab, cv2.COLOR_Lab2BGR)


def score_photo(colorizer: Colorizer, folder: Path, path: Path, save_to: Path | None) -> Score | None:
    """None for a picture without colour; raises ColorizationError for one that cannot be read."""
    name = path.relative_to(folder)
    colour, _ = split_alpha(read_image(path))
    original = to_unit_float(colour)
    if np.abs(cv2.cvtColor(original, cv2.COLOR_BGR2Lab)[:, :, 1:]).mean() < GREY_CHROMA:
        return None
    result = colorizer.colorize(colour)
    if save_to is not None:
        destination = (save_to / name).with_suffix(".png")
        destination.parent.mkdir(parents=True, exist_ok=True)
        write_image(destination, result)
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


def print_table(scores: list[Score], settings: str) -> None:
    name_width = max(16, *(len(score.name) for score in scores))
    print(f"settings: {settings}")
    print(f"{'photo':<{name_width}}  {'PSNR dB':>8}  {'SSIM':>6}  {'colourful':>9}  {'original':>8}")
    for score in scores:
        print(
            f"{score.name:<{name_width}}  {score.psnr:8.2f}  {score.ssim:6.3f}  {score.colourfulness:9.1f}  "
            f"{score.original_colourfulness:8.1f}"
        )
    mean = {field.name: float(np.mean([getattr(s, field.name) for s in scores])) for field in fields(Score)[1:]}
    print(
        f"{f'mean of {len(scores)}':<{name_width}}  {mean['psnr']:8.2f}  {mean['ssim']:6.3f}  "
        f"{mean['colourfulness']:9.1f}  {mean['original_colourfulness']:8.1f}"
    )
    print(f"{'grey (no colour)':<{name_width}}  {mean['grey_psnr']:8.2f}  {mean['grey_ssim']:6.3f}  {0.0:9.1f}")


def write_csv(path: Path, scores: list[Score], settings: str) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow([field.name for field in fields(Score)] + ["settings"])
    writer.writerows([*astuple(score), settings] for score in scores)
    write_bytes_atomically(path, text.getvalue().encode())


def describe_settings(colorizer: Colorizer, args) -> str:
    upsample = colorizer.upsample
    detail = f" ({upsample.spatial_sigma:g} cell, {upsample.range_sigma:g} L)" if upsample.method == "guided" else ""
    temperature = f"{1 / annealing_scale(args.temperature):.3g}" + ("" if args.temperature is not None else " (release)")
    return (
        f"variant {args.variant}, temperature {temperature}, saturation {colorizer.saturation:g}, "
        f"upsample {upsample.method}{detail}, size {colorizer.size}"
    )


def main(argv=None) -> int:
    parser = cli.new_parser(__doc__)
    parser.prog = "python -m colorization.evaluate"
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of colour photos to use as ground truth")
    parser.add_argument("-r", "--recursive", action="store_true", help="also look in subfolders")
    parser.add_argument("--limit", type=int, metavar="N", help="score only the first N pictures (sorted by name)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every photo's scores to this CSV file")
    parser.add_argument("--save-to", type=Path, metavar="DIR", help="also write each colorized result there, as PNG")
    cli.add_model_options(parser)
    cli.add_verbosity_options(parser)
    args = parser.parse_args(argv)
    cli.configure_logging(args)
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    photos = find_photos(args.folder, args.recursive)[: args.limit]
    colorizer = cli.colorizer_from_args(args)
    scores, failed = [], 0
    with progress_bar(len(photos), "photo", "evaluating", args.quiet) as bar:
        for path in photos:
            try:
                score = score_photo(colorizer, args.folder, path, args.save_to)
            except ColorizationError as error:
                log.error("error: %s", error)
                failed += 1
            else:
                if score is None:
                    log.warning("skipped %s: it has no colour to compare against", display_path(path))
                else:
                    scores.append(score)
                    log.info("%s: PSNR %.2f dB, SSIM %.3f", score.name, score.psnr, score.ssim)
            bar.update()
    if not scores:
        raise UsageError(f"no colour photos in {display_path(args.folder)} to evaluate on")
    settings = describe_settings(colorizer, args)
    print_table(scores, settings)
    if args.csv is not None:
        write_csv(args.csv, scores, settings)
    return cli.EXIT_SOME_FAILED if failed else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main))
