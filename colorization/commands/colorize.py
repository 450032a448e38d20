"""colorize: one or a few black-and-white photos."""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from ..image_files import colorize_files
from ..image_io import WRITE_FORMATS
from ..outputs import plan_outputs
from . import options

DEFAULT_SUFFIX = "_colorized"


def build_parser(prog: str | None = None):
    parser = options.new_parser(prog, "Colorize one or a few black-and-white photos: {prog} -i photo.jpg")
    parser.add_argument("-i", "--input", action="append", required=True, type=Path, metavar="IMAGE", help="image to colorize (repeatable)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE_OR_DIR", help="output file for one input, or folder for several (default: beside each input)")
    parser.add_argument("--suffix", default=DEFAULT_SUFFIX, help="added to each input's name to name its output")
    parser.add_argument("--compare", action="store_true", help="also write NAME_compare.EXT with input and output side by side")
    options.add_model_options(parser)
    options.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    imports = options.seconds_since_process_start()
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    options.configure_logging(args)
    pairs = plan_outputs(args.input, args.output, args.suffix, WRITE_FORMATS)
    started = time.perf_counter()
    colorizer = options.colorizer_from_args(args, workload=len(pairs))
    load = time.perf_counter() - started
    results = colorize_files(colorizer, pairs, args.compare)
    options.log_start_up(imports, load, colorizer, [result.seconds for result in results if result.status == "done"])
    failed = sum(result.status == "failed" for result in results)
    options.log.log(
        logging.WARNING if failed else logging.INFO,
        "%d colorized, %d failed (backend: %s)", len(results) - failed, failed, colorizer.device,
    )
    return options.EXIT_SOME_FAILED if failed else options.EXIT_OK


def entry() -> None:
    sys.exit(options.run(main))
