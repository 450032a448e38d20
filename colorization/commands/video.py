"""colorize-video: black-and-white films frame by frame, with their sound."""
from __future__ import annotations

import argparse
import logging
import re
import sys
from pathlib import Path

from ..outputs import plan_outputs
from ..temporal import DEFAULT_STRENGTH
from ..video import VideoOptions, colorize_videos, preview_videos
from ..video.colorize import DEFAULT_SUFFIX, preview_folder
from ..video.encoding import DEFAULT_CODEC, DEFAULT_PIXEL_FORMAT, check_options
from . import options

TIME_PATTERN = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def time_position(text: str) -> float:
    """Seconds ('90', '90.5') or a timecode ('1:30.5', '0:01:30')."""
    match = TIME_PATTERN.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time: use seconds (90.5) or a timecode (1:30.5 or 0:01:30.5)")
    hours, minutes, seconds = match.groups()
    if (minutes is not None and float(seconds) >= 60) or (hours is not None and int(minutes) >= 60):
        raise argparse.ArgumentTypeError(f"{text!r} is not a timecode: minutes and seconds go up to 59")
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + float(seconds)


def positive_seconds(text: str) -> float:
    seconds = time_position(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"--preview needs a number of seconds above 0, got {text!r}")
    return seconds


def build_parser(prog: str | None = None):
    parser = options.new_parser(prog, "Colorize black-and-white films frame by frame, with their sound: {prog} -i reel.mp4")
    parser.add_argument("-i", "--input", action="append", required=True, type=Path, metavar="VIDEO", help="film to colorize (repeatable)")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE_OR_DIR",
        help="output file for one input, or folder for several; with --preview, the folder for the stills "
        "(default: NAME_colorized.EXT, or NAME_preview/, beside each input)",
    )
    parser.add_argument("--suffix", default=DEFAULT_SUFFIX, help="added to each input's name to name its output")
    span = parser.add_argument_group("what to colorize")
    span.add_argument("--start", type=time_position, metavar="TIME", help="begin here: seconds (90.5) or a timecode (1:30.5, 0:01:30)")
    span.add_argument("--end", type=time_position, metavar="TIME", help="stop here (same forms as --start)")
    span.add_argument("--preview", type=positive_seconds, metavar="N", help="only one colorized still every N seconds, for a quick look")
    encoding = parser.add_argument_group("encoding")
    encoding.add_argument("--codec", help=f"video encoder (default: {DEFAULT_CODEC}; libvpx-vp9 for .webm)")
    encoding.add_argument("--pix-fmt", default=DEFAULT_PIXEL_FORMAT, help="pixel format of the output; yuv420p plays everywhere")
    quality = encoding.add_mutually_exclusive_group()
    quality.add_argument("--crf", type=float, help="constant quality on the codec's own scale, lower is better: x264/x265 0-51, VP9/AV1 0-63 (default: 18 for x264)")
    quality.add_argument("--quality", type=float, metavar="Q", help="0-10, 10 best, mapped onto whichever scale the codec has")
    encoding.add_argument("--no-audio", dest="audio", action="store_false", help="leave the sound out (default: copied as it is, re-encoded only where the container needs it)")
    temporal = parser.add_argument_group("temporal smoothing")
    temporal.add_argument("--smooth", action=argparse.BooleanOptionalAction, default=True, help="steady the colour over time (against flicker); L is never changed")
    temporal.add_argument("--smooth-strength", type=float, default=DEFAULT_STRENGTH, metavar="S", help="0-1: how much of the past colour is kept where nothing moves")
    options.add_model_options(parser)
    options.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    args = build_parser(prog).parse_args(argv)
    options.configure_logging(args)
    settings = VideoOptions(
        codec=args.codec, pixel_format=args.pix_fmt, crf=args.crf, quality=args.quality, start=args.start, end=args.end,
        audio=args.audio, smoothing=args.smooth_strength if args.smooth else 0.0,
    )
    if args.preview:
        pairs = [(source, preview_folder(source, args.output)) for source in args.input]
        check_options(settings, [])
        colorizer = options.colorizer_from_args(args, workload="batch")
        results = preview_videos(colorizer, pairs, settings, args.preview, args.quiet)
    else:
        pairs = plan_outputs(args.input, args.output, args.suffix)
        check_options(settings, [destination for _, destination in pairs])
        colorizer = options.colorizer_from_args(args, workload="video")
        results = colorize_videos(colorizer, pairs, settings, args.quiet)
    failed = sum(result.status == "failed" for result in results)
    damaged = sum(bool(result.problems) for result in results)
    options.log.log(
        logging.WARNING if failed or damaged else logging.INFO,
        "%d done (%d with problems), %d failed (backend: %s)", len(results) - failed, damaged, failed, colorizer.device,
    )
    return options.EXIT_SOME_FAILED if failed or damaged else options.EXIT_OK


def entry() -> None:
    sys.exit(options.run(main))
