"""colorize-eval: score colorization settings on your own colour photos.

Each colour photo in DIR is taken as ground truth: the model sees only its lightness, and the result is compared with
the original (PSNR and SSIM over RGB) and rated for colourfulness. The last line scores the plain grey picture the
same way: a setting that does not beat grey on PSNR adds wrong colour. Run it once per setting (--temperature,
--saturation, --upsample, --variant ...) on the same folder and compare the means. With --compare-precision bf16
(or fp16) each photo is scored in fp32 and in that precision side by side, with the PSNR between the two results.
"""

from __future__ import annotations

import csv
import functools
import io
import sys
from collections.abc import Callable
from dataclasses import astuple, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..atomic import write_bytes_atomically
from ..engines.base import PRECISIONS
from ..errors import ColorizationError, UsageError
from ..evaluation import (
    PrecisionComparison,
    Score,
    compare_photo,
    find_photos,
    load_for_comparison,
    score_photo,
    settings_summary,
)
from ..outputs import output_problem
from ..paths import display_path
from ..progress import progress_bar
from . import arguments, logs, running


def print_table(scores: list[Score], settings: str) -> None:
    name_width = max(16, *(len(score.name) for score in scores))
    print(f"settings: {settings}")
    print(f"{'photo':<{name_width}}  {'PSNR dB':>8}  {'SSIM':>6}  {'colourful':>9}  {'original':>8}")
    for score in scores:
        print(
            f"{score.name:<{name_width}}  {score.psnr:8.2f}  {score.ssim:6.3f}  {score.colourfulness:9.1f}  "
            f"{score.original_colourfulness:8.1f}"
        )
    mean = mean_of(scores)
    print(
        f"{f'mean of {len(scores)}':<{name_width}}  {mean['psnr']:8.2f}  {mean['ssim']:6.3f}  "
        f"{mean['colourfulness']:9.1f}  {mean['original_colourfulness']:8.1f}"
    )
    print(f"{'grey (no colour)':<{name_width}}  {mean['grey_psnr']:8.2f}  {mean['grey_ssim']:6.3f}  {0.0:9.1f}")


def mean_of(scores: list[Score]) -> dict[str, float]:
    return {field.name: float(np.mean([getattr(s, field.name) for s in scores])) for field in fields(Score)[1:]}


def print_comparison(comparisons: list[PrecisionComparison], settings: str, precision: str, engines: str) -> None:
    """fp32 and the reduced precision side by side: each against the ground truth, then against each other."""
    name_width = max(16, *(len(c.reference.name) for c in comparisons))
    print(f"settings: {settings}")
    print(f"precisions: {engines}")
    print(
        f"{'photo':<{name_width}}  {'fp32 PSNR':>10}  {'fp32 SSIM':>9}  {precision + ' PSNR':>10}  "
        f"{precision + ' SSIM':>9}  {precision + ' vs fp32 dB':>16}"
    )
    for c in comparisons:
        print(
            f"{c.reference.name:<{name_width}}  {c.reference.psnr:10.2f}  {c.reference.ssim:9.3f}  "
            f"{c.compared.psnr:10.2f}  {c.compared.ssim:9.3f}  {c.psnr_between:16.2f}"
        )
    reference, compared = mean_of([c.reference for c in comparisons]), mean_of([c.compared for c in comparisons])
    print(
        f"{f'mean of {len(comparisons)}':<{name_width}}  {reference['psnr']:10.2f}  {reference['ssim']:9.3f}  "
        f"{compared['psnr']:10.2f}  {compared['ssim']:9.3f}  {np.mean([c.psnr_between for c in comparisons]):16.2f}"
    )
    print(f"{'grey (no colour)':<{name_width}}  {reference['grey_psnr']:10.2f}  {reference['grey_ssim']:9.3f}")


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    try:
        write_bytes_atomically(path, text.getvalue().encode())
    except OSError as error:
        raise ColorizationError(f"--csv {display_path(path)}: cannot write ({error.strerror or error})") from None


def score_table(scores: list[Score], settings: str) -> tuple[list[str], list[list]]:
    return [field.name for field in fields(Score)] + ["settings"], [[*astuple(score), settings] for score in scores]


def comparison_table(
    comparisons: list[PrecisionComparison], settings: str, precision: str
) -> tuple[list[str], list[list]]:
    """fp32's columns as without the comparison, then the reduced precision's, named after it."""
    header = [field.name for field in fields(Score)]
    header += [f"{precision}_{name}" for name in ("psnr", "ssim", "colourfulness")] + [
        f"{precision}_vs_fp32_psnr",
        "settings",
    ]
    rows = [
        [*astuple(c.reference), c.compared.psnr, c.compared.ssim, c.compared.colourfulness, c.psnr_between, settings]
        for c in comparisons
    ]
    return header, rows


EPILOG = (
    "exit codes: 0 all scored, 1 some photos could not be read, 2 usage or model error (or no colour photo in DIR), "
    f"130 interrupted (Ctrl-C), 143 terminated\n{arguments.REFERENCE}"
)


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(
        prog, "Score colorization settings on your own colour photos: {prog} DIR [options]", EPILOG
    )
    parser.add_argument("folder", type=Path, metavar="DIR", help="folder of colour photos to use as ground truth")
    parser.add_argument("-r", "--recursive", action="store_true", help="also look in subfolders")
    parser.add_argument("--limit", type=int, metavar="N", help="score only the first N pictures (sorted by name)")
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every photo's scores to this CSV file")
    parser.add_argument(
        "--save-to",
        type=Path,
        metavar="DIR",
        help="also write each colorized result there, as PNG (with --compare-precision P also NAME.P.png)",
    )
    parser.add_argument(
        "--compare-precision",
        choices=[p for p in PRECISIONS if p != "fp32"],
        metavar="PRECISION",
        help="also score each photo in this reduced precision (bf16 or fp16), beside fp32 on the same engine, with the "
        "PSNR between the two results; exit code 2 if it cannot run here",
    )
    arguments.add_model_options(parser)
    arguments.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    args = arguments.parse_arguments(build_parser(prog), argv)
    if args.limit is not None and args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}")
    if args.compare_precision and args.precision not in ("auto", "fp32"):
        raise UsageError(f"--compare-precision compares with fp32: leave out --precision {args.precision}")
    photos = find_photos(args.folder, args.recursive)[: args.limit]
    for flag, planned in (("--csv", args.csv), ("--save-to", args.save_to and args.save_to / "photo.png")):
        problem = planned is not None and output_problem(planned)
        if problem:
            raise UsageError(f"{flag}: {problem}")
    load = functools.partial(arguments.colorizer_from_args, args)
    score: Callable[[Path, Path, Path | None], Any]
    if args.compare_precision:
        colorizer, compared = load_for_comparison(load, args.compare_precision, args.engine)
        score = functools.partial(compare_photo, colorizer, compared)
    else:
        colorizer = load()
        score = functools.partial(score_photo, colorizer)
    scores: list[Any] = []
    failed = 0
    with progress_bar(len(photos), "photo", "evaluating", args.quiet) as bar:
        for path in photos:
            try:
                scored = score(args.folder, path, args.save_to)
            except ColorizationError as error:
                logs.log.error("error: %s", error)
                failed += 1
            else:
                if scored is None:
                    logs.log.warning("skipped %s: it has no colour to compare against", display_path(path))
                else:
                    scores.append(scored)
                    log_score(scored)
            bar.update()
    if not scores:
        raise UsageError(f"no colour photos in {display_path(args.folder)} to evaluate on")
    settings = settings_summary(colorizer, args.variant, args.temperature)
    if args.compare_precision:
        engines = f"fp32 on {colorizer.engine.description}; {args.compare_precision} on {compared.engine.description}"
        print_comparison(scores, settings, args.compare_precision, engines)
        table = comparison_table(scores, settings, args.compare_precision)
    else:
        print_table(scores, settings)
        table = score_table(scores, settings)
    if args.csv is not None:
        write_csv(args.csv, *table)
    return running.EXIT_SOME_FAILED if failed else running.EXIT_OK


def log_score(scored: Score | PrecisionComparison) -> None:
    """-v's line per photo."""
    if isinstance(scored, PrecisionComparison):
        reference, compared = scored.reference, scored.compared
        logs.log.info(
            "%s: PSNR %.2f dB, SSIM %.3f; reduced precision PSNR %.2f dB, SSIM %.3f, %.2f dB from fp32",
            reference.name,
            reference.psnr,
            reference.ssim,
            compared.psnr,
            compared.ssim,
            scored.psnr_between,
        )
    else:
        logs.log.info("%s: PSNR %.2f dB, SSIM %.3f", scored.name, scored.psnr, scored.ssim)


def entry() -> None:
    sys.exit(running.run(main))
