"""colorize-batch: every picture in a folder tree, into a mirror of it; safe to stop and run again."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..batch.listing import EXTENSION_FAMILIES
from ..batch.run import colorize_folder
from ..batch.settings import BatchSettings, default_workers
from ..errors import UsageError
from ..image_io import READ_EXTENSIONS, WRITE_FORMATS
from ..status import Status
from . import arguments, running, values


def shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N): this run takes the K-th of N slices."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not K/N, e.g. 2/8 (the 2nd of 8 slices)") from None
    if not 1 <= index <= count:
        raise argparse.ArgumentTypeError(
            f"{text!r}: K must be between 1 and N (for a 0-based array index, pass $((ID+1))/N)"
        )
    return index, count


def extensions(text: str) -> tuple[str, ...]:
    """`jpg,tif`: the picture types to take, each with its other spellings."""
    chosen: list[str] = []
    for part in filter(None, (piece.strip().lower() for piece in text.split(","))):
        extension = "." + part.lstrip(".")
        if extension not in READ_EXTENSIONS:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not a picture type this tool reads ({', '.join(READ_EXTENSIONS)})"
            )
        family = next((family for family in EXTENSION_FAMILIES if extension in family), (extension,))
        chosen.extend(member for member in family if member not in chosen)
    if not chosen:
        raise argparse.ArgumentTypeError("name at least one extension, e.g. --ext jpg,png")
    return tuple(chosen)


def output_extension(text: str) -> str | None:
    """`png`: the format every output is written in; `auto` keeps each input's."""
    if text.lower() == "auto":
        return None
    extension = "." + text.lower().lstrip(".")
    if extension not in WRITE_FORMATS:
        raise argparse.ArgumentTypeError(f"{text!r}: outputs can be written as auto, {', '.join(WRITE_FORMATS)}")
    return extension


def add_file_options(parser) -> None:
    """Which files of INPUT_DIR are colorized, and how their outputs are named and reported."""
    choice = parser.add_argument_group("which files")
    choice.add_argument(
        "--no-recursive",
        dest="recursive",
        action="store_false",
        help="only the pictures directly in INPUT_DIR (default: its sub-folders too)",
    )
    choice.add_argument(
        "--pattern",
        action="append",
        metavar="GLOB",
        help="only files whose name or path below INPUT_DIR matches, e.g. '*_scan.tif' or '1950s/*' (repeatable)",
    )
    choice.add_argument(
        "--ext",
        type=extensions,
        metavar="EXT[,EXT]",
        help="only these picture types, e.g. jpg,tif (default: every type this tool reads)",
    )
    choice.add_argument(
        "--shard",
        type=shard,
        metavar="K/N",
        help="only the K-th of N slices of the files, for a job array; each file's slice depends on its path alone (default: 1/1, all)",
    )
    arguments.add_picture_limit_option(choice)
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument(
        "--output-ext",
        type=output_extension,
        metavar="EXT",
        help="write every output as EXT, e.g. png (default: auto, each input's own type)",
    )
    outputs.add_argument(
        "--suffix", default="", help="added to each output's name, e.g. _colour (default: none, the input's name)"
    )
    arguments.add_existing_output_options(outputs, "colorize again files whose output exists")
    outputs.add_argument(
        "--report",
        type=Path,
        metavar="FILE.csv|FILE.json",
        help="write one line per file: status, reason, output, size, time",
    )


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(
        prog,
        "Colorize every picture in a folder tree into a mirror of it: {prog} scans/ colour/\n\n"
        "Safe to stop and run again: finished outputs are kept and skipped, half-written ones never appear.\n"
        "A PHOTO.hints.json beside a picture gives it colour hints (the format of colorize --hints).",
    )
    parser.add_argument(
        "input_dir", nargs="?", type=Path, metavar="INPUT_DIR", help="the folder of pictures to colorize"
    )
    parser.add_argument(
        "output_dir",
        nargs="?",
        type=Path,
        metavar="OUTPUT_DIR",
        help="the folder to write the colour copies to, mirroring INPUT_DIR",
    )
    parser.add_argument("-i", "--input", type=Path, metavar="INPUT_DIR", help="INPUT_DIR as an option")
    parser.add_argument("-o", "--output", type=Path, metavar="OUTPUT_DIR", help="OUTPUT_DIR as an option")
    add_file_options(parser)
    speed = parser.add_argument_group("speed")
    speed.add_argument(
        "--workers",
        type=values.count,
        metavar="N",
        help="threads reading and threads writing beside the network, N of each (default: 1, or 2 from 4 cores); "
        "with --ray, reading and writing tasks per model worker (default: as many as the cluster's free CPUs hold)",
    )
    speed.add_argument(
        "--batch-size",
        type=values.number_from(1, values.MAX_BATCH, whole=True),
        default=1,
        metavar="N",
        help="pictures per forward pass (helps on a GPU; on a CPU 1 is as fast)",
    )
    arguments.add_cluster_options(parser)
    arguments.add_model_options(parser)
    parser.set_defaults(conversion="fast")
    arguments.add_verbosity_options(parser)
    return parser


def main(argv=None, prog: str | None = None) -> int:
    parser = build_parser(prog)
    args = arguments.parse_arguments(parser, argv)
    folders = [folder for folder in (args.input_dir, args.output_dir) if folder is not None]
    input_root = args.input or (folders.pop(0) if folders else None)
    output_root = args.output or (folders.pop(0) if folders else None)
    if input_root is None or output_root is None or folders:
        raise UsageError(f"give one input folder and one output folder: {parser.prog} INPUT_DIR OUTPUT_DIR")
    settings = BatchSettings(
        input_root=input_root,
        output_root=output_root,
        recursive=args.recursive,
        patterns=tuple(args.pattern or ()),
        extensions=args.ext or BatchSettings.extensions,
        output_extension=args.output_ext,
        suffix=args.suffix,
        overwrite=args.overwrite,
        shard=args.shard or (1, 1),
        report=args.report,
        workers=args.workers or default_workers(),
        batch_size=args.batch_size,
        max_pixels=args.max_pixels,
    )
    arguments.check_cluster_options(args)
    if args.ray is None:
        summary = colorize_folder(settings, lambda: arguments.colorizer_from_args(args), quiet=args.quiet)
    else:
        from ..cluster.batch import colorize_folder_on_ray

        summary = colorize_folder_on_ray(
            settings,
            args.ray,
            arguments.colorizer_settings(args),
            tasks_per_worker=args.workers,
            workers=args.ray_workers,
            gpus_per_worker=args.gpus_per_worker,
            quiet=args.quiet,
        )
    if not args.quiet:
        print(summary.line(), file=sys.stderr)
    if summary.report_error:
        print(f"error: {summary.report_error}", file=sys.stderr)
    if summary.count(Status.INTERRUPTED):
        return running.EXIT_TERMINATED if summary.terminated else running.EXIT_INTERRUPTED
    failed = summary.count(Status.FAILED) or summary.report_error or summary.found_nothing
    return running.EXIT_SOME_FAILED if failed else running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
