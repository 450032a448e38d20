#!/usr/bin/env python3
"""Colorize black-and-white films frame by frame, with their sound: python video_colorize.py -i reel.mp4"""
import argparse
import logging
import sys
from pathlib import Path

from colorization import cli, video
from colorization.ffmpeg import parse_time
from colorization.temporal import DEFAULT_STRENGTH


def positive_seconds(text: str) -> float:
    seconds = parse_time(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"--preview needs a number of seconds above 0, got {text!r}")
    return seconds


def main(argv=None) -> int:
    parser = cli.new_parser(__doc__)
    parser.add_argument("-i", "--input", action="append", required=True, type=Path, metavar="VIDEO", help="film to colorize (repeatable)")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="FILE_OR_DIR",
        help="output file for one input, or folder for several; with --preview, the folder for the stills "
        "(default: NAME_colorized.EXT, or NAME_preview/, beside each input)",
    )
    parser.add_argument("--suffix", default=video.DEFAULT_SUFFIX, help="added to each input's name to name its output")
    span = parser.add_argument_group("what to colorize")
    span.add_argument("--start", type=parse_time, metavar="TIME", help="begin here: seconds (90.5) or a timecode (1:30.5, 0:01:30)")
    span.add_argument("--end", type=parse_time, metavar="TIME", help="stop here (same forms as --start)")
    span.add_argument("--preview", type=positive_seconds, metavar="N", help="only one colorized still every N seconds, for a quick look")
    encoding = parser.add_argument_group("encoding")
    encoding.add_argument("--codec", help=f"video encoder (default: {video.DEFAULT_CODEC}; libvpx-vp9 for .webm)")
    encoding.add_argument("--pix-fmt", default=video.DEFAULT_PIXEL_FORMAT, help="pixel format of the output; yuv420p plays everywhere")
    quality = encoding.add_mutually_exclusive_group()
    quality.add_argument("--crf", type=float, help="constant quality on the codec's own scale, lower is better: x264/x265 0-51, VP9/AV1 0-63 (default: 18 for x264)")
    quality.add_argument("--quality", type=float, metavar="Q", help="0-10, 10 best, mapped onto whichever scale the codec has")
    encoding.add_argument("--no-audio", dest="audio", action="store_false", help="leave the sound out (default: copied as it is, re-encoded only where the container needs it)")
    temporal = parser.add_argument_group("temporal smoothing")
    temporal.add_argument("--smooth", action=argparse.BooleanOptionalAction, default=True, help="steady the colour over time (against flicker); L is never changed")
    temporal.add_argument("--smooth-strength", type=float, default=DEFAULT_STRENGTH, metavar="S", help="0-1: how much of the past colour is kept where nothing moves")
    cli.add_model_options(parser)
    cli.add_verbosity_options(parser)
    args = parser.parse_args(argv)
    cli.configure_logging(args)
    options = video.VideoOptions(
        codec=args.codec, pixel_format=args.pix_fmt, crf=args.crf, quality=args.quality, start=args.start, end=args.end,
        audio=args.audio, smoothing=args.smooth_strength if args.smooth else 0.0,
    )
    if args.preview:
        pairs = video.plan_previews(args.input, args.output)
        video.check_options(options, [])
        colorizer = cli.colorizer_from_args(args)
        results = video.preview_videos(colorizer, pairs, args.preview, options, args.quiet)
    else:
        pairs = video.plan_videos(args.input, args.output, args.suffix)
        video.check_options(options, [destination for _, destination in pairs])
        colorizer = cli.colorizer_from_args(args)
        results = video.colorize_videos(colorizer, pairs, options, args.quiet)
    failed = sum(result.status == "failed" for result in results)
    damaged = sum(bool(result.problems) for result in results)
    cli.log.log(
        logging.WARNING if failed or damaged else logging.INFO,
        "%d done (%d with problems), %d failed (backend: %s)", len(results) - failed, damaged, failed, colorizer.backend,
    )
    return cli.EXIT_SOME_FAILED if failed or damaged else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main))
