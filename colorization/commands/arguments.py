"""The options the commands share, defined once so that `--model-dir` or `--temperature` mean the same in every
command: the parser, the option groups, and the ColorizerSettings they give."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path
from typing import Any

from .. import __version__
from ..composition import CONVERSIONS
from ..engines import BACKENDS, ENGINE_CHOICES
from ..engines.base import AUTO, PRECISION_CHOICES
from ..errors import UsageError
from ..fetch import NO_DOWNLOAD_ENV
from ..image_io import DEFAULT_MAX_PIXELS
from ..model import DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, RELEASE_SCALE, TEMPERATURE_RANGE
from ..model_files import MODEL_DIR_ENV, VARIANTS
from ..pipeline import Colorizer
from ..saturation import SATURATION_RANGE
from ..settings import ColorizerSettings
from ..upsampling import (
    DEFAULT_RANGE_SIGMA,
    DEFAULT_SPATIAL_SIGMA,
    DEFAULT_UPSAMPLE,
    RANGE_SIGMA_RANGE,
    SPATIAL_SIGMA_RANGE,
    UPSAMPLE_METHODS,
    Upsampling,
)
from .logs import configure_logging
from .running import EXIT_USAGE
from .values import count, network_size, non_negative, number_from, pixel_count


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Shows each real default in --help, without argparse's '(default: None)' noise."""

    def _get_help_string(self, action):
        text = action.help or ""
        if action.default not in (None, False, argparse.SUPPRESS) and "(default" not in text:
            text += " (default: %(default)s)"
        return text


REFERENCE = "full reference: docs/commands.md in the source repository"
EXIT_CODES = (
    "exit codes: 0 all done, 1 some inputs failed (or none found), 2 usage or model error, 130 interrupted (Ctrl-C), 143 terminated\n"
    + REFERENCE
)


class ArgumentParser(argparse.ArgumentParser):
    """A usage error is one line, like every other error (argparse's own prints the whole usage first)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def new_parser(prog: str | None, description: str, epilog: str = EXIT_CODES) -> argparse.ArgumentParser:
    """A parser named as the user ran it (the script, the installed command, or python -m colorization NAME);
    `{prog}` in the description becomes that name."""
    parser = ArgumentParser(prog=prog, epilog=epilog, formatter_class=HelpFormatter)
    parser.description = description.format(prog=parser.prog)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def add_file_options(
    parser: argparse.ArgumentParser, inputs: str, input_help: str, output_help: str, suffix: str
) -> None:
    """-i, -o and --suffix, the same in colorize and video: -i takes several files at once (`-i scans/*.jpg`) and
    is repeatable; -o stays text, so that a trailing / (a folder to create) is not lost."""
    parser.add_argument(
        "-i", "--input", nargs="+", action="extend", required=True, type=Path, metavar=inputs, help=input_help
    )
    parser.add_argument("-o", "--output", metavar="FILE_OR_DIR/", help=output_help)
    parser.add_argument("--suffix", default=suffix, help="added to each input's name to name its output")


def add_picture_limit_option(parser: argparse._ActionsContainer) -> None:
    parser.add_argument(
        "--max-pixels",
        type=pixel_count,
        default=DEFAULT_MAX_PIXELS,
        metavar="N",
        help="refuse pictures larger than N pixels, read from the file's header before decoding (0: no limit)",
    )


def add_existing_output_options(parser, redo: str = "colorize again inputs whose output exists") -> None:
    """The one rule for outputs that exist, in every command: kept and skipped, so a rerun finishes the rest."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--skip-existing",
        dest="overwrite",
        action="store_false",
        help="keep outputs that exist and skip their inputs (the default): a rerun does only what is missing",
    )
    group.add_argument("--overwrite", dest="overwrite", action="store_true", help=f"{redo}, replacing the output")
    parser.set_defaults(overwrite=False)


def add_model_file_options(parser: argparse.ArgumentParser) -> None:
    model = parser.add_argument_group("model")
    model.add_argument(
        "--model-dir",
        metavar="DIR",
        help=f"folder with the release model files (default: ${MODEL_DIR_ENV}, else models/ in a clone, the user cache folder when installed)",
    )
    model.add_argument("--variant", choices=VARIANTS, default="release", help="which published weights to use")
    model.add_argument("--prototxt", metavar="FILE", help="use this network definition instead of the release one")
    model.add_argument(
        "--caffemodel", metavar="FILE", help="use these weights instead of the release ones (custom or fine-tuned)"
    )
    model.add_argument("--points", metavar="FILE", help="use these 313x2 ab cluster centres instead of pts_in_hull.npy")
    model.add_argument(
        "--no-download",
        action="store_true",
        help=f"never download missing release files (also: {NO_DOWNLOAD_ENV}=1); say the command instead",
    )
    model.add_argument(
        "--verify",
        action="store_true",
        help="check the release files' SHA-256 before loading (reads 129 MB; else size and content only)",
    )


def add_backend_option(group: argparse._ActionsContainer) -> None:
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default="auto",
        help="where the network runs; auto takes CUDA when this OpenCV build or ONNX Runtime has it, an Intel GPU when OpenVINO sees one",
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    add_model_file_options(parser)
    inference = parser.add_argument_group("inference")
    add_backend_option(inference)
    inference.add_argument(
        "--engine",
        choices=ENGINE_CHOICES,
        default="auto",
        help="what runs the network: caffe (the release files in cv2.dnn, the reference), onnx (their compiled form in "
        "cv2.dnn), onnxruntime (that form in ONNX Runtime, if installed), openvino (in OpenVINO Runtime; also Intel "
        "GPUs); auto: OpenVINO, else ONNX Runtime, else onnx (on CUDA: cv2.dnn or onnxruntime-gpu), or the one "
        "`python -m colorization engines` measured fastest here",
    )
    inference.add_argument(
        "--precision",
        choices=PRECISION_CHOICES,
        default=AUTO,
        help="arithmetic of the network: auto runs bf16 where the processor has AVX512-BF16 or AMX (OpenVINO), fp16 on "
        "CUDA (cv2.dnn) and Intel GPUs, else fp32, and always fp32 with --engine caffe; fp32 is the reference; bf16 "
        "or fp16 asked for where the engine or device lacks them is said once, and fp32 runs",
    )
    inference.add_argument(
        "--temperature",
        type=number_from(*TEMPERATURE_RANGE),
        metavar="T",
        help=f"annealed-mean temperature, {TEMPERATURE_RANGE[0]:g}-{TEMPERATURE_RANGE[1]:g}: lower is more vivid, higher more "
        f"conservative, 1 is the plain mean (default: the release's 1/{RELEASE_SCALE}, about 0.38)",
    )
    inference.add_argument(
        "--size",
        type=network_size,
        default=DEFAULT_SIZE,
        help=f"network input size in pixels, a multiple of 8 from {MIN_SIZE} to {MAX_SIZE} (the net was trained at {DEFAULT_SIZE}; "
        "larger only costs time and memory)",
    )
    inference.add_argument(
        "--conversion",
        choices=CONVERSIONS,
        default="reference",
        help="full-size colour work: reference is OpenCV's sample exactly; fast is cheaper for 8-bit pictures, within 1 grey level",
    )
    add_quality_options(parser)


def add_quality_options(parser: argparse.ArgumentParser) -> None:
    quality = parser.add_argument_group("colour quality")
    quality.add_argument(
        "--upsample",
        choices=UPSAMPLE_METHODS,
        default=DEFAULT_UPSAMPLE,
        help="how the 1/4-size colour is brought to full size: guided stops colour at the edges of the picture's "
        "lightness; bilinear is OpenCV's sample exactly (reference mode)",
    )
    quality.add_argument(
        "--guided-spatial-sigma",
        type=number_from(*SPATIAL_SIGMA_RANGE),
        default=DEFAULT_SPATIAL_SIGMA,
        metavar="CELLS",
        help=f"guided: spatial reach in colour cells (4 pixels of the net's input), {SPATIAL_SIGMA_RANGE[0]:g}-{SPATIAL_SIGMA_RANGE[1]:g}; larger is smoother",
    )
    quality.add_argument(
        "--guided-range-sigma",
        type=number_from(*RANGE_SIGMA_RANGE),
        default=DEFAULT_RANGE_SIGMA,
        metavar="L",
        help=f"guided: lightness difference (L, 0-100) at which colour stops flowing, {RANGE_SIGMA_RANGE[0]:g}-{RANGE_SIGMA_RANGE[1]:g}; smaller follows weaker edges",
    )
    quality.add_argument(
        "--saturation",
        type=number_from(*SATURATION_RANGE),
        default=1.0,
        metavar="FACTOR",
        help=f"multiply the colour's chroma, {SATURATION_RANGE[0]:g}-{SATURATION_RANGE[1]:g}, each pixel kept inside sRGB so no channel clips; 0 is grey",
    )


def add_verbosity_options(
    parser: argparse.ArgumentParser, verbose_help: str = "also say which backend runs and time each file"
) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-v", "--verbose", action="store_true", help=verbose_help)
    group.add_argument("-q", "--quiet", action="store_true", help="print errors only")


def parse_arguments(parser: argparse.ArgumentParser, argv=None) -> argparse.Namespace:
    """The options, with logging set up for the verbosity they ask for."""
    args = parser.parse_args(argv)
    configure_logging(args)
    return args


def colorizer_settings(args: argparse.Namespace) -> ColorizerSettings:
    """The settings the options give, made once, for this process and a Ray cluster's workers alike. Each field
    comes from the option of its name (a field without one is an AttributeError in every command, never a silent
    default); the upsampling options make one Upsampling, and --no-download and -q say how files are fetched."""
    given: dict[str, Any] = {
        "upsample": Upsampling(args.upsample, args.guided_spatial_sigma, args.guided_range_sigma),
        "download": not args.no_download,
        "quiet": getattr(args, "quiet", False),
    }
    return ColorizerSettings(
        **{
            field.name: given[field.name] if field.name in given else getattr(args, field.name)
            for field in fields(ColorizerSettings)
        }
    )


def colorizer_from_args(args: argparse.Namespace, precision: str | None = None, engine: str | None = None) -> Colorizer:
    """The colorizer the options ask for (see Colorizer.load); missing or damaged release files are fetched first
    (or the command is named). `precision` and `engine` replace the options', for a command that loads a second
    colorizer differing only in them."""
    changes = {key: value for key, value in (("precision", precision), ("engine", engine)) if value}
    return Colorizer.load(colorizer_settings(args), **changes)


def ray_address(text: str) -> str:
    """--ray's ADDRESS, checked by the one rule colorization.cluster applies (without importing Ray)."""
    from ..cluster.runtime import check_address

    try:
        return check_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_cluster_options(parser: argparse.ArgumentParser) -> None:
    """--ray and its pool: the same job spread over a Ray cluster; without --ray, Ray is never imported."""
    from ..cluster.runtime import DEFAULT_ADDRESS, INSTALL_HINT

    cluster = parser.add_argument_group(
        "Ray cluster",
        f"needs Ray ({INSTALL_HINT}); INPUT and OUTPUT must be on a filesystem every node sees (NFS, Lustre, a "
        "mounted bucket) at the same path",
    )
    cluster.add_argument(
        "--ray",
        nargs="?",
        const=DEFAULT_ADDRESS,
        type=ray_address,
        metavar="ADDRESS",
        help="run on Ray: local (a Ray instance on this machine), auto (the cluster this node belongs to), "
        "ray://HOST:PORT (a remote one); bare --ray follows Ray's own rule (RAY_ADDRESS, else a running local "
        "cluster, else a new one)",
    )
    cluster.add_argument(
        "--ray-workers",
        type=count,
        metavar="N",
        help="model workers, each loading the network once (default: one per GPU, else one per node)",
    )
    cluster.add_argument(
        "--gpus-per-worker",
        type=non_negative,
        metavar="G",
        help="GPUs each model worker reserves, fractions allowed (default: 1 when the cluster has GPUs, else 0: CPU workers)",
    )


def check_cluster_options(args: argparse.Namespace) -> None:
    """--ray-workers and --gpus-per-worker shape a Ray run: without --ray they would silently do nothing."""
    given = [
        name
        for name, value in (("--ray-workers", args.ray_workers), ("--gpus-per-worker", args.gpus_per_worker))
        if value is not None
    ]
    if args.ray is None and given:
        raise UsageError(
            f"{' and '.join(given)} {'needs' if len(given) == 1 else 'need'} --ray (a Ray cluster to run on)"
        )
