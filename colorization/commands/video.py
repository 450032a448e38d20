"""colorize-video: black-and-white films frame by frame, with their sound."""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from ..outputs import plan_outputs, sort_outputs
from ..status import Status
from ..temporal import DEFAULT_STRENGTH
from ..video import VideoOptions, colorize_videos, preview_videos
from ..video.colorize import DEFAULT_SUFFIX, PreviewResult, VideoResult, preview_folder
from ..video.encoding import DEFAULT_CODEC, DEFAULT_PIXEL_FORMAT, check_options
from . import arguments, logs, running

MAX_SECONDS = 1000 * 3600.0
"""A position beyond a thousand hours is a typo (or an overflow), not a film."""
TIME_PATTERN = re.compile(r"^(?:(?:(\d+):)?(\d+):)?(\d+(?:\.\d*)?|\.\d+)$")


def time_position(text: str) -> float:
    """Seconds ('90', '90.5') or a timecode ('1:30.5', '0:01:30')."""
    match = TIME_PATTERN.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a time: use seconds (90.5) or a timecode (1:30.5 or 0:01:30.5)"
        )
    hours, minutes, seconds = match.groups()
    if (minutes is not None and float(seconds) >= 60) or (hours is not None and int(minutes) >= 60):
        raise argparse.ArgumentTypeError(f"{text!r} is not a timecode: minutes and seconds go up to 59")
    total = float(hours or 0) * 3600 + float(minutes or 0) * 60 + float(seconds)
    if not total <= MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is past any film's end: at most {MAX_SECONDS // 3600:g} hours")
    return total


def positive_seconds(text: str) -> float:
    seconds = time_position(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"--preview needs a number of seconds above 0, got {text!r}")
    return seconds


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(
        prog,
        "Colorize black-and-white films frame by frame, with their sound: {prog} -i reel.mp4\n\n"
        "Outputs that exist are kept and their inputs skipped unless --overwrite; a film stopped half-way (even by\n"
        "kill -9) leaves no file under its final name, and its hidden temporary is removed by the next run.",
    )
    arguments.add_file_options(
        parser,
        "VIDEO",
        "films to colorize (several, and repeatable); an animated GIF is one too",
        "output file for one input, or folder for several (a trailing / makes it a folder); with --preview, "
        "the folder for the stills (default: NAME_colorized.EXT, or NAME_preview/, beside each input)",
        DEFAULT_SUFFIX,
    )
    arguments.add_existing_output_options(parser, "colorize again films whose output exists")
    span = parser.add_argument_group("what to colorize")
    span.add_argument(
        "--start", type=time_position, metavar="TIME", help="begin here: seconds (90.5) or a timecode (1:30.5, 0:01:30)"
    )
    span.add_argument("--end", type=time_position, metavar="TIME", help="stop here (same forms as --start)")
    span.add_argument(
        "--preview",
        type=positive_seconds,
        metavar="N",
        help="only one colorized still every N seconds, for a quick look",
    )
    encoding = parser.add_argument_group("encoding")
    encoding.add_argument("--codec", help=f"video encoder (default: {DEFAULT_CODEC}; libvpx-vp9 for .webm)")
    encoding.add_argument(
        "--pix-fmt", default=DEFAULT_PIXEL_FORMAT, help="pixel format of the output; yuv420p plays everywhere"
    )
    quality = encoding.add_mutually_exclusive_group()
    quality.add_argument(
        "--crf",
        type=float,
        help="constant quality on the codec's own scale, lower is better: x264/x265 0-51, VP9/AV1 0-63 (default: 18 for x264)",
    )
    quality.add_argument(
        "--quality", type=float, metavar="Q", help="0-10, 10 best, mapped onto whichever scale the codec has"
    )
    encoding.add_argument(
        "--no-audio",
        dest="audio",
        action="store_false",
        help="leave the sound out (default: copied as it is, re-encoded only where the container needs it)",
    )
    temporal = parser.add_argument_group("temporal smoothing")
    temporal.add_argument(
        "--smooth",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="steady the colour over time (against flicker); L is never changed",
    )
    temporal.add_argument(
        "--smooth-strength",
        type=float,
        default=DEFAULT_STRENGTH,
        metavar="S",
        help="0-1: how much of the past colour is kept where nothing moves",
    )
    arguments.add_model_options(parser)
    arguments.add_cluster_options(parser)
    arguments.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    args = arguments.parse_arguments(build_parser(prog), argv)
    arguments.check_cluster_options(args)
    settings = VideoOptions(
        codec=args.codec,
        pixel_format=args.pix_fmt,
        crf=args.crf,
        quality=args.quality,
        start=args.start,
        end=args.end,
        audio=args.audio,
        smoothing=args.smooth_strength if args.smooth else 0.0,
    )
    if args.preview:
        pairs = [
            (source, preview_folder(source, None if args.output is None else Path(args.output)))
            for source in args.input
        ]
        plan = sort_outputs(pairs, args.overwrite, folders=True)
        check_options(settings, [])
    else:
        plan = sort_outputs(plan_outputs(args.input, args.output, args.suffix), args.overwrite)
        check_options(settings, [destination for _, destination in plan.todo])
    logs.report_output_plan(plan)
    if args.ray and args.preview:
        logs.log.info("--preview runs on this machine: a few stills need no cluster")
    if args.ray and not args.preview and plan.todo:
        return summarize(*colorize_on_ray(args, plan.todo, settings), plan)
    colorizer = arguments.colorizer_from_args(args) if plan.todo else None
    results: Sequence[VideoResult | PreviewResult]
    if colorizer is None:
        results = []
    elif args.preview:
        results = preview_videos(colorizer, plan.todo, settings, args.preview, args.quiet)
    else:
        results = colorize_videos(colorizer, plan.todo, settings, args.quiet)
    return summarize(results, f" (backend: {colorizer.device})" if colorizer else "", plan)


def colorize_on_ray(args, pairs, settings) -> tuple[list, str]:
    """The films spread over a Ray cluster (imported only here), and the summary's note of its workers."""
    from ..cluster.video import colorize_videos_on_ray

    results, workers = colorize_videos_on_ray(
        args.ray,
        args.ray_workers,
        args.gpus_per_worker,
        arguments.colorizer_settings(args),
        pairs,
        settings,
        args.quiet,
    )
    return results, f" (Ray: {workers.describe()})"


def summarize(results, backend: str, plan) -> int:
    """The summary line and the exit code, the same with and without --ray."""
    failed = sum(result.status == Status.FAILED for result in results) + len(plan.impossible)
    damaged = sum(bool(result.problems) for result in results)
    skipped = f", {len(plan.existing)} skipped (output exists)" if plan.existing else ""
    logs.log.log(
        logging.WARNING if failed or damaged or plan.existing else logging.INFO,
        "%d done (%d with problems)%s, %d failed%s",
        len(results) + len(plan.impossible) - failed,
        damaged,
        skipped,
        failed,
        backend,
    )
    return running.EXIT_SOME_FAILED if failed or damaged else running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
