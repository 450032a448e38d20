"""colorize-eval: score colorization settings on your own colour photos.

Each colour photo in DIR is taken as ground truth: the model sees only its lightness, and the result is compared with
the original (PSNR and SSIM over RGB) and rated for colourfulness. The last line scores the plain grey picture the
same way: a setting that does not beat grey on PSNR adds wrong colour. Run it once per setting (--temperature,
--saturation, --upsample, --variant ...) on the same folder and compare the means.
"""
from __future__ import annotations

import csv
import io
import sys
from dataclasses import astuple, fields
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomically
from ..errors import ColorizationError, UsageError
from ..evaluation import Score, find_photos, score_photo, settings_summary
from ..outputs import output_problem
from ..paths import display_path
from ..progress import progress_bar
from . import options

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
    try:
        write_bytes_atomically(path, text.getvalue().encode())
    except OSError as error:
        raise ColorizationError(f"--csv {display_path(path)}: cannot write ({error.strerror or error})") from None


EPILOG = (
    "exit codes: 0 all scored, 1 some photos could not be read, 2 usage or model error (or no colour photo in DIR), "
    f"130 interrupted (Ctrl-C), 143 terminated\n{options.REFERENCE}"
)


def build_parser(prog: str | None = None):
    parser = options.new_parser(prog, "Score colorization settings on your own colour photos: {prog} DIR [options]", EPILOG)
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of colour photos to use as ground truth")
    parser.add_argument("-r", "--recursive", action="store_true", help="also look in subfolders")
    parser.add_argument("--limit", type=int, metavar="N", help="score only the first N pictures (sorted by name)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every photo's scores to this CSV file")
    parser.add_argument("--save-to", type=Path, metavar="DIR", help="also write each colorized result there, as PNG")
    options.add_model_options(parser)
    options.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    args = options.parse_arguments(build_parser(prog), argv)
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    photos = find_photos(args.folder, args.recursive)[: args.limit]
    for flag, planned in (("--csv", args.csv), ("--save-to", args.save_to and args.save_to / "photo.png")):
        problem = planned is not None and output_problem(planned)
        if problem:
            raise UsageError(f"{flag}: {problem}")
    colorizer = options.colorizer_from_args(args, workload=max(1, len(photos)))
    scores, failed = [], 0
    with progress_bar(len(photos), "photo", "evaluating", args.quiet) as bar:
        for path in photos:
            try:
                score = score_photo(colorizer, args.folder, path, args.save_to)
            except ColorizationError as error:
                options.log.error("error: %s", error)
                failed += 1
            else:
                if score is None:
                    options.log.warning("skipped %s: it has no colour to compare against", display_path(path))
                else:
                    scores.append(score)
                    options.log.info("%s: PSNR %.2f dB, SSIM %.3f", score.name, score.psnr, score.ssim)
            bar.update()
    if not scores:
        raise UsageError(f"no colour photos in {display_path(args.folder)} to evaluate on")
    settings = settings_summary(colorizer, args.variant, args.temperature)
    print_table(scores, settings)
    if args.csv is not None:
        write_csv(args.csv, scores, settings)
    return options.EXIT_SOME_FAILED if failed else options.EXIT_OK


def entry() -> None:
    sys.exit(options.run(main))
