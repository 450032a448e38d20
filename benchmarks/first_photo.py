"""One photo as a whole command: `colorize.py -i photo.jpg` against the OpenCV sample's loop run as a script.

    python -m benchmarks.first_photo                      # 5 interleaved runs of each, medians and the ratio
    python -m benchmarks.first_photo --precision fp32     # or --engine, --upsample: compare with the defaults
    python -m benchmarks.first_photo --runs 9 -- --conversion fast   # arguments after -- go to colorize.py

Both are timed the same way, as separate processes from start to exit (the output file written): the sample's
loop (benchmarks/opencv_sample.py, Caffe in cv2.dnn) as a tiny `python -c` script, and colorize.py as a user runs
it, with its defaults unless told otherwise. Both use the release architecture with random weights (the real
model's compute, no download) on a grey photo made from /work/shared/images. One untimed run of each comes first,
so the compiled model exists and the files are in the page cache: what is timed is a cached start, the everyday
one; it also says which engine and precision ran. Then one `-v` run shows colorize.py's own breakdown. This is a
benchmark, not a test: on a shared machine the times vary, hence the interleaving and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

from benchmarks.settings import add_setting_options, describe, engine_that_ran, setting_arguments
from colorization.engines.base import bf16_features, processor_name
from tests.support.release_model import release_architecture

REPO = Path(__file__).resolve().parent.parent
DEFAULT_IMAGE = REPO.parent / "shared" / "images" / "astronaut.png"
SAMPLE_SCRIPT = """
import sys
import cv2
from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8
prototxt, caffemodel, points, source, destination = sys.argv[1:]
net = load_sample_network(prototxt, caffemodel, points)
cv2.imwrite(destination, to_uint8(sample_colorize(net, cv2.imread(source))))
"""


def grey_photo(source: Path, destination: Path, width: int, height: int) -> Path:
    """The source picture as a grey JPEG of the size asked for (three equal channels, as scans usually are)."""
    image = cv2.imread(str(source))
    if image is None:
        raise SystemExit(f"error: cannot read {source}: pass --image")
    grey = cv2.cvtColor(cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    cv2.imwrite(str(destination), grey, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return destination


def commands(model: dict, photo: Path, work: Path, extra: list[str]) -> dict[str, list[str]]:
    files = [str(model[key]) for key in ("prototxt", "caffemodel", "points")]
    overrides = [argument for key in ("prototxt", "caffemodel", "points") for argument in (f"--{key}", str(model[key]))]
    return {
        "sample script": [sys.executable, "-c", SAMPLE_SCRIPT, *files, str(photo), str(work / "sample.jpg")],
        "colorize.py": [
            sys.executable,
            str(REPO / "colorize.py"),
            "-i",
            str(photo),
            "-o",
            str(work / "colorized.jpg"),
            *overrides,
            *extra,
        ],
    }


def timed(command: list[str], output: Path) -> tuple[float, str]:
    """Seconds from process start to exit, the output written (checked, so a failing run is never timed as fast),
    and what the command said."""
    output.unlink(missing_ok=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or not output.is_file():
        raise SystemExit(f"error: {command[1]} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")
    return seconds, result.stderr


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command, interleaved")
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE, help="picture to make the grey photo from")
    parser.add_argument("--width", type=int, default=741)
    parser.add_argument("--height", type=int, default=500)
    parser.add_argument("--work", type=Path, help="folder for the model and outputs (default: a temporary one)")
    parser.add_argument(
        "--reference-dir", help="folder of the release prototxt and points (default: $COLORIZE_REFERENCE_DIR)"
    )
    add_setting_options(parser, "colorize.py")
    parser.add_argument("extra", nargs="*", help="after --: more colorize.py arguments, e.g. --conversion fast")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="first_photo_") as temporary:
        work = args.work or Path(temporary)
        work.mkdir(parents=True, exist_ok=True)
        model = release_architecture(work, args.reference_dir)
        photo = grey_photo(args.image, work / "photo.jpg", args.width, args.height)
        runs = commands(model, photo, work, [*setting_arguments(args), *args.extra])
        outputs = {"sample script": work / "sample.jpg", "colorize.py": work / "colorized.jpg"}
        timed(runs["sample script"], outputs["sample script"])  # untimed: fills the page cache
        _, said = timed([*runs["colorize.py"], "-v"], outputs["colorize.py"])  # untimed: compiles the model too
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.runs):
            for name, command in runs.items():
                times[name].append(timed(command, outputs[name])[0])
        print(f"{processor_name()} (native bf16: {', '.join(bf16_features()) or 'none'})")
        print(f"colorize.py with {describe(args)}: {engine_that_ran(said)}")
        print(
            f"{args.width}x{args.height} grey photo, release architecture with random weights, {args.runs} interleaved runs each"
        )
        for name, values in times.items():
            print(f"  {name:14s} median {statistics.median(values):.2f} s   ({', '.join(f'{v:.2f}' for v in values)})")
        ratio = statistics.median(times["colorize.py"]) / statistics.median(times["sample script"])
        print(f"  colorize.py / sample script: {ratio:.2f}x")
        _, verbose = timed([*runs["colorize.py"], "-v"], outputs["colorize.py"])
        print("colorize.py -v (one more run):")
        print("\n".join(f"  {line}" for line in verbose.strip().splitlines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
