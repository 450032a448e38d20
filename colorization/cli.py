"""What the scripts share: the model/backend options, logging by verbosity, and exit codes.

Options are defined once here so `--model-dir` or `--temperature` mean the same in every script.
"""
from __future__ import annotations

import argparse
import logging
import sys

import cv2

from .errors import ColorizationError
from .model_files import MODEL_DIR_ENV, VARIANTS
from .network import BACKENDS, RELEASE_SCALE
from .pipeline import CONVERSIONS, DEFAULT_SIZE, UPSAMPLE_METHODS, Colorizer

log = logging.getLogger("colorization")

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a command stopped by Ctrl-C."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each real default in --help, without argparse's '(default: None)' noise."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "(default" not in text:
            text += " (default: %(default)s)"
        return text


def new_parser(description: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(description=description, formatter_class=HelpFormatter)


def add_model_options(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model-dir", metavar="DIR", help=f"folder with the release model files (default: ${MODEL_DIR_ENV}, else models/)"
    )
    model.add_argument("--variant", choices=VARIANTS, default="release", help="which published weights to use")
    model.add_argument("--prototxt", metavar="FILE", help="use this network definition instead of the release one")
    model.add_argument("--caffemodel", metavar="FILE", help="use these weights instead of the release ones (custom or fine-tuned)")
    model.add_argument("--points", metavar="FILE", help="use these 313x2 ab cluster centres instead of pts_in_hull.npy")
    inference = parser.add_argument_group("inference")
    inference.add_argument("--backend", choices=BACKENDS, default="auto", help="where cv2.dnn runs; auto takes CUDA when this OpenCV build has it")
    inference.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help=f"annealed-mean temperature: lower is more vivid, higher more conservative, 1 is the plain mean "
        f"(default: the release's 1/{RELEASE_SCALE}, about 0.38)",
    )
    inference.add_argument("--size", type=int, default=DEFAULT_SIZE, help="network input size in pixels (a multiple of 8)")
    inference.add_argument("--upsample", choices=UPSAMPLE_METHODS, default="bilinear", help="how the 1/4-size colour is brought to full size")
    inference.add_argument(
        "--conversion",
        choices=CONVERSIONS,
        default="reference",
        help="full-size colour work: reference is OpenCV's sample exactly; fast is cheaper for 8-bit pictures, within 1 grey level",
    )


def add_verbosity_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", help="also say which backend runs and time each file")
    group.add_argument("-q", "--quiet", action="store_true", help="print errors only")


def configure_logging(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    # Unless -v, OpenCV stays quiet: its codec messages repeat, in its words, the one line we print per bad file.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_WARNING if args.verbose else cv2.utils.logging.LOG_LEVEL_SILENT)


def colorizer_from_args(args: argparse.Namespace) -> Colorizer:
    return Colorizer.from_model_dir(
        args.model_dir,
        prototxt=args.prototxt,
        caffemodel=args.caffemodel,
        points=args.points,
        variant=args.variant,
        backend=args.backend,
        temperature=args.temperature,
        size=args.size,
        upsample=args.upsample,
        conversion=args.conversion,
    )


def run(main, argv=None) -> int:
    """Run a script's main; expected failures become one line on stderr and exit code 2, never a traceback."""
    try:
        return main(argv)
    except ColorizationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
