#!/usr/bin/env python3
"""Colorize every picture in a folder tree into a mirror of it: python batch_colorize.py scans/ colour/

Safe to stop and run again: finished outputs are kept and skipped, half-written ones never appear.
"""
import sys
from pathlib import Path

from colorization import cli
from colorization.batch import (
    BatchSettings,
    colorize_folder,
    default_workers,
    parse_count,
    parse_extensions,
    parse_output_extension,
    parse_shard,
)
from colorization.errors import UsageError


def main(argv=None) -> int:
    parser = cli.new_parser(__doc__)
    parser.add_argument("input_dir", nargs="?", type=Path, metavar="INPUT_DIR", help="the folder of pictures to colorize")
    parser.add_argument("output_dir", nargs="?", type=Path, metavar="OUTPUT_DIR", help="the folder to write the colour copies to, mirroring INPUT_DIR")
    parser.add_argument("-i", "--input", type=Path, metavar="INPUT_DIR", help="INPUT_DIR as an option")
    parser.add_argument("-o", "--output", type=Path, metavar="OUTPUT_DIR", help="OUTPUT_DIR as an option")
    choice = parser.add_argument_group("which files")
    choice.add_argument("--no-recursive", dest="recursive", action="store_false", help="only the pictures directly in INPUT_DIR (default: its sub-folders too)")
    choice.add_argument("--pattern", action="append", metavar="GLOB", help="only files whose name or path below INPUT_DIR matches, e.g. '*_scan.tif' or '1950s/*' (repeatable)")
    choice.add_argument("--ext", type=parse_extensions, metavar="EXT[,EXT]", help="only these picture types, e.g. jpg,tif (default: every type this tool reads)")
    choice.add_argument("--shard", type=parse_shard, metavar="K/N", help="only the K-th of N slices of the files, for a job array; each file's slice depends on its path alone (default: 1/1, all)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--output-ext", type=parse_output_extension, metavar="EXT", help="write every output as EXT, e.g. png (default: auto, each input's own type)")
    outputs.add_argument("--suffix", default="", help="added to each output's name, e.g. _colour (default: none, the input's name)")
    outputs.add_argument("--overwrite", action="store_true", help="colorize again files whose output exists (default: skip them)")
    outputs.add_argument("--report", type=Path, metavar="FILE.csv|FILE.json", help="write one line per file: status, reason, output, size, time")
    speed = parser.add_argument_group("speed")
    speed.add_argument("--workers", type=parse_count, default=default_workers(), metavar="N", help="threads reading and threads writing beside the network, N of each")
    speed.add_argument("--batch-size", type=parse_count, default=1, metavar="N", help="pictures per forward pass (helps on a GPU; on a CPU 1 is as fast)")
    cli.add_model_options(parser)
    parser.set_defaults(conversion="fast")
    cli.add_verbosity_options(parser)
    args = parser.parse_args(argv)
    cli.configure_logging(args)
    folders = [folder for folder in (args.input_dir, args.output_dir) if folder is not None]
    input_root = args.input or (folders.pop(0) if folders else None)
    output_root = args.output or (folders.pop(0) if folders else None)
    if input_root is None or output_root is None or folders:
        raise UsageError("give one input folder and one output folder: batch_colorize.py INPUT_DIR OUTPUT_DIR")
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
        workers=args.workers,
        batch_size=args.batch_size,
    )
    summary = colorize_folder(settings, lambda: cli.colorizer_from_args(args), quiet=args.quiet)
    if not args.quiet:
        print(summary.line(), file=sys.stderr)
    if summary.count("interrupted"):
        return cli.EXIT_TERMINATED if summary.terminated else cli.EXIT_INTERRUPTED
    return cli.EXIT_SOME_FAILED if summary.count("failed") else cli.EXIT_OK


if __name__ == "__main__":
    sys.exit(cli.run(main))
