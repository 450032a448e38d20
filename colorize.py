#!/usr/bin/env python3
"""Colorize one or a few black-and-white photos: python colorize.py -i photo.jpg"""
import logging
import sys
from pathlib import Path

from colorization import cli
from colorization.image_files import DEFAULT_SUFFIX, colorize_files, plan_outputs


def main(argv=None) -> int:
    parser = cli.new_parser(__doc__)
    parser.add_argument("-i", "--input", action="append", required=True, type=Path, metavar="IMAGE", help="image to colorize (repeatable)")
    parser.add_argument("-o", "--output", type=Path, metavar="FILE_OR_DIR", help="output file for one input, or folder for several (default: beside each input)")
    parser.add_argument("--suffix", default=DEFAULT_SUFFIX, help="added to each input's name to name its output")
    parser.add_argument("--compare", action="store_true", help="also write NAME_compare.EXT with input and output side by side")
    cli.add_model_options(parser)
    cli.add_verbosity_options(parser)
    args = parser.parse_args(argv)
    cli.configure_logging(args)
    pairs = plan_outputs(args.input, args.output, args.suffix)
    colorizer = cli.colorizer_from_args(args)
    results = colorize_files(colorizer, pairs, args.compare)
    failed = sum(result.status == "failed" for result in results)
    cli.log.log(
        logging.WARNING if failed else logging.INFO,
        "%d colorized, %d failed (backend: %s)", len(results) - failed, failed, colorizer.backend,
    )
    return cli.EXIT_SOME_FAILED if failed else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main))
