"""colorize: one or a few black-and-white photos."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..hints import HintError, check_count, check_fits, parse_hint, read_hints
from ..image_files import colorize_files
from ..image_io import WRITE_FORMATS
from ..outputs import plan_outputs, sort_outputs
from ..status import Status
from . import arguments, logs, running

DEFAULT_SUFFIX = "_colorized"


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(
        prog,
        "Colorize one or a few black-and-white photos: {prog} -i photo.jpg (or -i scans/*.jpg -o colour/)\n\n"
        "The date, camera, place, colour profile and DPI of each photo are kept in JPEG and PNG outputs. An input type\n"
        "that cannot be written (GIF, PGM...) gives a PNG. Outputs that exist are kept and their inputs skipped\n"
        "unless --overwrite.",
    )
    arguments.add_file_options(
        parser,
        "IMAGE",
        "images to colorize (several, and repeatable)",
        "output file for one input, or folder for several; a trailing / makes it a folder (created if needed) "
        "(default: beside each input)",
        DEFAULT_SUFFIX,
    )
    parser.add_argument(
        "--compare", action="store_true", help="also write NAME_compare.EXT with input and output side by side"
    )
    arguments.add_existing_output_options(parser)
    arguments.add_picture_limit_option(parser)
    add_hint_options(parser)
    arguments.add_model_options(parser)
    arguments.add_verbosity_options(parser)
    return parser


def add_hint_options(parser) -> None:
    hints = parser.add_argument_group(
        "colour hints", "colours you know, e.g. the dress was red: docs/quality.md#colour-hints"
    )
    hints.add_argument(
        "--hint",
        action="append",
        metavar="X,Y,COLOUR",
        help="the colour at a point: X,Y in pixels of the upright photo (120,340,#b22222) or as fractions of its width "
        "and height (0.5,0.1,skyblue); COLOUR as #rrggbb or a CSS colour name; it spreads over the region around the "
        "point, up to its edges (repeatable; every input gets the same hints)",
    )
    hints.add_argument(
        "--hints",
        type=Path,
        metavar="FILE.json",
        help='hints from a JSON list of {"x": 120, "y": 340, "colour": "#b22222"} objects, each optionally with a '
        '"radius" (pixels) that limits how far it spreads',
    )


def hints_from_args(args) -> list:
    """The hints of --hints and --hint, checked (one line naming the bad one) before anything else is done."""
    hints = read_hints(args.hints) if args.hints else []
    for text in args.hint or ():
        try:
            hints.append(parse_hint(text))
        except HintError as error:
            raise HintError(f"--hint {text}: {error}") from None
    check_count(len(hints), "--hint and --hints")
    return hints


def main(argv=None, prog: str | None = None) -> int:
    imports = running.seconds_since_process_start()
    args = arguments.parse_arguments(build_parser(prog), argv)
    hints = hints_from_args(args)
    plan = sort_outputs(plan_outputs(args.input, args.output, args.suffix, WRITE_FORMATS), args.overwrite)
    logs.report_output_plan(plan)
    for source, _ in plan.todo:
        check_fits(hints, source)
    started = time.perf_counter()
    colorizer = arguments.colorizer_from_args(args) if plan.todo else None
    load = time.perf_counter() - started
    results = colorize_files(colorizer, plan.todo, args.compare, args.max_pixels, hints) if colorizer else []
    if colorizer:
        running.log_start_up(
            imports, load, colorizer, [result.seconds for result in results if result.status == Status.DONE]
        )
    failed = sum(result.status == Status.FAILED for result in results) + len(plan.impossible)
    if not args.quiet:
        backend = f" (backend: {colorizer.device})" if colorizer else ""
        skipped = f", {len(plan.existing)} skipped (output exists)" if plan.existing else ""
        print(
            f"{len(results) + len(plan.impossible) - failed} colorized{skipped}, {failed} failed{backend}",
            file=sys.stderr,
        )
    return running.EXIT_SOME_FAILED if failed else running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
