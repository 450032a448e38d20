"""engines: measure the engines installed here, print the table, and keep the fastest for `--engine auto`."""

from __future__ import annotations

import os
import sys

from ..engines.base import AUTO, bf16_features, processor_name, thread_count
from ..engines.choice import Measurement, choice_path, fastest, forget_choice, measure_engines, store_choice
from ..fetch import ensure_release_files
from ..model import DEFAULT_SIZE, RELEASE_SCALE
from ..model_files import ModelFiles
from ..paths import display_path
from . import arguments, running, values

DESCRIPTION = (
    "Measure the engines installed here and keep the fastest for --engine auto: {prog}\n\n"
    "Each engine that runs the compiled model (OpenVINO, ONNX Runtime, cv2.dnn) is loaded in turn, in the precision\n"
    "--precision auto gives it and in fp32, timed (load, first forward, the median of later forwards) and freed\n"
    "before the next loads. The fastest for each precision is stored per user and machine; later runs with\n"
    "--engine auto take it instead of the fixed preference (docs/engines.md), until measured again or --forget."
)


def build_parser(prog: str | None = None):
    parser = arguments.new_parser(prog, DESCRIPTION)
    arguments.add_model_file_options(parser)
    measurement = parser.add_argument_group("measurement")
    arguments.add_backend_option(measurement)
    measurement.add_argument(
        "--runs",
        type=values.count,
        default=5,
        metavar="N",
        help="timed forwards of each engine after its first (their median is its time)",
    )
    measurement.add_argument(
        "--no-store", action="store_true", help="print the table only, keeping the choice there is"
    )
    measurement.add_argument(
        "--forget",
        action="store_true",
        help="drop this machine's stored choice (auto takes the fixed preference again); measures nothing",
    )
    arguments.add_verbosity_options(parser, "also name each engine as it is measured")
    return parser


def print_table(rows: list[Measurement]) -> None:
    """One line per engine and precision, the fastest for `auto` and for fp32 marked."""
    features = bf16_features()
    print(
        f"{processor_name()}, {os.cpu_count()} cores, {thread_count()} threads; native bf16: {', '.join(features) or 'none'}"
    )
    marks: dict[int, list[str]] = {}
    for precision in (AUTO, "fp32"):
        chosen = fastest(rows, precision)
        if chosen is not None:
            marks.setdefault(id(chosen), []).append(f"--precision {precision}")
    print(
        f"{'engine':<12} {'precision':<9} {'device':<24} {'load':>7} {'first':>7} {'forward':>9} {'memory':>9}  chosen for"
    )
    for row in rows:
        memory = f"{row.memory:6.0f} MiB" if row.memory is not None else "        ?"
        print(
            f"{row.engine:<12} {row.precision:<9} {row.device:<24} {row.load:5.2f} s {row.first:5.2f} s "
            f"{row.forward:6.0f} ms {memory}  {', '.join(marks.get(id(row), []))}"
        )


def main(argv=None, prog: str | None = None) -> int:
    args = arguments.parse_arguments(build_parser(prog), argv)
    if args.forget:
        dropped = forget_choice(args.backend)
        print(
            f"{'dropped the' if dropped else 'no'} stored engine choice for --backend {args.backend} in {display_path(choice_path())}"
        )
        return running.EXIT_OK
    files = ModelFiles.resolve(args.model_dir, args.prototxt, args.caffemodel, args.points, args.variant)
    ensure_release_files(files, download=not args.no_download, verify=args.verify, quiet=args.quiet)
    rows = measure_engines(files, args.backend, RELEASE_SCALE, DEFAULT_SIZE, args.runs)
    print_table(rows)
    print(
        "load: the compiled model into the engine; first: its first forward; forward: the median of the later ones, at "
        f"{DEFAULT_SIZE}x{DEFAULT_SIZE}; memory: what the engine's load and forwards added at their peak"
    )
    if args.no_store:
        return running.EXIT_OK
    chosen = store_choice(args.backend, rows)
    kept = "; ".join(f"--precision {precision}: {engine}" for precision, engine in chosen.items())
    print(f"--engine auto --backend {args.backend} runs from now on: {kept} (kept in {display_path(choice_path())})")
    return running.EXIT_OK


def entry() -> None:
    sys.exit(running.run(main))
