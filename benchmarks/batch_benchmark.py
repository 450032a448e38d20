"""batch_colorize.py against the plain OpenCV-sample loop, on the same files with the same full-size model, in one run.

    python -m benchmarks.batch_benchmark                 # 20 synthetic 4000x3000 grey JPEGs, the defaults
    python -m benchmarks.batch_benchmark --count 10 --rounds 3   # three runs in a row, each into a fresh folder
    python -m benchmarks.batch_benchmark --precision fp32   # or --engine, --upsample: compare with the defaults
    python -m benchmarks.batch_benchmark --images DIR    # your own pictures
    python -m benchmarks.batch_benchmark --stages        # also the time of each stage for one picture, and what
                                                         # compose adds to peak memory and page faults

The sample loop is benchmarks/opencv_sample.py one picture at a time (imread, colorize, imwrite), in this process;
batch_colorize.py runs as users run it, with its defaults unless told otherwise, a separate process (its start-up
and model loading count against it) into a fresh output folder each round, whose peak memory and engine (the one
its -v names) are given per round. Both use the release architecture with random weights (the real model's
compute), compiled once before anything is timed (a machine's first run does that, once). Then reference mode (bilinear, fp32) and the default fast conversion are both checked against the sample
within 1 grey level (as PNG, so no JPEG re-encoding blurs the comparison). This is a benchmark, not a test: on a
shared machine the times vary.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parent.parent
from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8
from benchmarks.settings import add_setting_options, compile_once, describe, engine_that_ran, setting_arguments
from colorization import Colorizer, read_image, write_image
from colorization.engines.base import bf16_features, processor_name
from colorization.image_io import READ_EXTENSIONS
from tests.support.release_model import release_architecture

WIDTH, HEIGHT = 4000, 3000


def synthetic_scan(seed: int, colour_file: bool) -> np.ndarray:
    """A grey 'photo' with smooth shapes, edges and film grain, so JPEG sizes and decode times are realistic."""
    rng = np.random.default_rng(seed)
    coarse = cv2.resize(
        rng.uniform(20, 235, (12, 16)).astype(np.float32), (WIDTH, HEIGHT), interpolation=cv2.INTER_CUBIC
    )
    for _ in range(12):
        x, y, w, h = (int(v) for v in rng.integers([0, 0, 200, 200], [WIDTH - 400, HEIGHT - 400, 1200, 900]))
        coarse[y : y + h, x : x + w] = coarse[y : y + h, x : x + w] * 0.5 + rng.uniform(20, 235) * 0.5
    grain = rng.normal(0, 7, (HEIGHT, WIDTH)).astype(np.float32)
    grey = np.clip(coarse + grain, 0, 255).astype(np.uint8)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR) if colour_file else grey


def make_images(folder: Path, count: int, colour_files: bool) -> list[Path]:
    """Written once and kept: a later run with the same work folder reuses them."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"scan_{index:03d}.jpg"
        if not path.is_file():
            cv2.imwrite(str(path), synthetic_scan(index, colour_files), [cv2.IMWRITE_JPEG_QUALITY, 92])
        paths.append(path)
    return paths


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def link_inputs(images: list[Path], folder: Path) -> Path:
    """A folder holding exactly the chosen pictures (as links), so both sides work on the same files."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for path in images:
        (folder / path.name).symlink_to(path.resolve())
    return folder


def run_sample_loop(model: dict, images: list[Path], output: Path) -> tuple[float, float]:
    """The OpenCV sample's way: load the net, then read, colorize and write one picture after another."""
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    started, cpu = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
    net = load_sample_network(model["prototxt"], model["caffemodel"], model["points"])
    for path in images:
        frame = cv2.imread(str(path))
        cv2.imwrite(str(output / path.name), to_uint8(sample_colorize(net, frame)))
    return time.perf_counter() - started, cpu_seconds(resource.RUSAGE_SELF) - cpu


def model_options(model: dict) -> list[str]:
    return [argument for key in ("prototxt", "caffemodel", "points") for argument in (f"--{key}", str(model[key]))]


@dataclass
class BatchRun:
    seconds: float
    cpu: float
    peak_mib: float
    """The batch process's own peak resident memory."""
    engine: str
    """What its -v said ran: runtime, backend, precision."""


PEAK_OF_CHILD = (
    "import resource, subprocess, sys\n"
    "code = subprocess.call(sys.argv[1:])\n"
    "print(f'peak KiB: {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr)\n"
    "sys.exit(code)"
)
"""Runs a command and reports its peak resident memory. Started from this process directly, a command would report
this process's own size as its peak: Linux keeps the peak of the process image it replaced (this one, holding the
sample's network) when it runs the new program. Started from this small helper, it reports its own."""


def run_batch(model: dict, images: Path, output: Path, *options: str) -> BatchRun:
    """batch_colorize.py as a user runs it, into a fresh output folder."""
    shutil.rmtree(output, ignore_errors=True)
    started = time.perf_counter()
    command = [
        sys.executable,
        str(REPO / "batch_colorize.py"),
        str(images),
        str(output),
        "--no-recursive",
        "-v",
        *model_options(model),
        *options,
    ]
    process = subprocess.Popen(
        [sys.executable, "-c", PEAK_OF_CHILD, *command], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    said = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"batch_colorize.py failed ({os.waitstatus_to_exitcode(status)}): {said.strip()[-2000:]}")
    peak = int(said.rstrip().rpartition("peak KiB: ")[2]) / 1024
    return BatchRun(seconds, usage.ru_utime + usage.ru_stime, peak, engine_that_ran(said))


def check_agreement(model: dict, images: list[Path], work: Path, engine: str | None) -> bool:
    """Reference mode and fast conversion, as PNG from batch_colorize.py, against the sample within 1 grey level
    (in fp32, the reference arithmetic, on the engine benchmarked)."""
    chosen = images[:2]
    net = load_sample_network(model["prototxt"], model["caffemodel"], model["points"])
    expected = {path.stem: to_uint8(sample_colorize(net, cv2.imread(str(path)))) for path in chosen}
    patterns = [argument for path in chosen for argument in ("--pattern", path.name)]
    agree = True
    for conversion in ("reference", "fast"):
        output = work / f"check_{conversion}"
        run_batch(
            model,
            images[0].parent,
            output,
            *(["--engine", engine] if engine else []),
            "--precision",
            "fp32",
            "--upsample",
            "bilinear",
            "--conversion",
            conversion,
            "--output-ext",
            "png",
            *patterns,
        )
        for stem, sample in expected.items():
            ours = cv2.imread(str(output / f"{stem}.png"))
            difference = np.abs(ours.astype(int) - sample.astype(int))
            ok = difference.max() <= 1
            agree &= ok
            print(
                f"  {conversion:9s} {stem}: max difference {difference.max()} grey level(s), "
                f"{(difference > 0).mean() * 100:.4f}% of samples differ -> {'agree' if ok else 'DISAGREE'}"
            )
    return agree


def compare_jpeg_outputs(sample_folder: Path, batch_folder: Path, images: list[Path]) -> None:
    """The timed outputs themselves (JPEG, fast conversion): close, though JPEG coding can amplify a 1-level step."""
    differences = [
        np.abs(
            cv2.imread(str(sample_folder / path.name)).astype(int)
            - cv2.imread(str(batch_folder / path.name)).astype(int)
        )
        for path in images
    ]
    worst, mean = max(int(d.max()) for d in differences), np.mean([d.mean() for d in differences])
    print(f"  timed JPEG outputs: max difference {worst}, mean {mean:.4f} grey levels")


def peak_rss_mib() -> float:
    """This process's peak resident memory since the last reset_peak_rss (Linux's VmHWM)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def reset_peak_rss() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def compose_memory(colorizer: Colorizer, prepared, ab) -> tuple[float, int]:
    """How much compose raises the peak resident memory (MiB) and how many minor page faults it takes."""
    reset_peak_rss()
    before, faults = peak_rss_mib(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    colorizer.compose(prepared, ab)
    return peak_rss_mib() - before, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults


def time_stages(model: dict, path: Path, work: Path, settings: dict, repeats: int = 3) -> None:
    """The best of a few runs of each stage on one picture, for each conversion, and compose's memory."""
    print(f"stages for one {path.name} (best of {repeats}, ms; compose's rise of peak memory and its page faults):")
    print(
        f"  {'conversion':10s} {'read':>7s} {'prepare':>8s} {'forward':>8s} {'compose':>8s} {'write':>7s} {'total':>7s}"
        f" {'compose MiB':>12s} {'faults':>7s}"
    )
    for conversion in ("reference", "fast"):
        colorizer = Colorizer.load(**model, conversion=conversion, **settings)
        best = np.full(5, np.inf)
        for _ in range(repeats):
            marks = [time.perf_counter()]
            image = read_image(path)
            marks.append(time.perf_counter())
            prepared = colorizer.prepare(image)
            marks.append(time.perf_counter())
            (ab,) = colorizer.predict_ab([prepared])
            marks.append(time.perf_counter())
            colour = colorizer.compose(prepared, ab)
            marks.append(time.perf_counter())
            write_image(work / f"stages{path.suffix}", colour)
            marks.append(time.perf_counter())
            best = np.minimum(best, np.diff(marks))
        del colour
        memory, faults = compose_memory(colorizer, prepared, ab)
        print(
            f"  {conversion:10s} "
            + " ".join(f"{value * 1000:7.0f} " for value in best)
            + f"{best.sum() * 1000:7.0f}"
            + f" {memory:12.0f} {faults:7d}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--images", type=Path, help="a folder of pictures to use instead of synthetic ones (not recursive)"
    )
    parser.add_argument("--count", type=int, default=20, help="how many synthetic 4000x3000 pictures (default: 20)")
    parser.add_argument(
        "--colour-files", action="store_true", help="store the synthetic grey pictures as 3-channel JPEGs"
    )
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "colorize-batch-benchmark")
    parser.add_argument(
        "--reference-dir",
        help="folder with the release prototxt and pts_in_hull.npy (default: $COLORIZE_REFERENCE_DIR)",
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="time both sides this many times, alternating (default: 1)"
    )
    parser.add_argument("--stages", action="store_true", help="also time each stage for the first picture")
    add_setting_options(parser, "batch_colorize.py")
    parser.add_argument(
        "batch_options", nargs="*", help="extra batch_colorize.py options after --, e.g. -- --workers 2"
    )
    args = parser.parse_args()

    work = args.work_dir
    model = release_architecture(work, args.reference_dir)
    compile_once(model, args)
    if args.images:
        images = sorted(
            p for p in args.images.iterdir() if p.suffix.lower() in READ_EXTENSIONS and not p.name.startswith(".")
        )
    else:
        images = make_images(
            work / ("colour_files" if args.colour_files else "grey_files"), args.count, args.colour_files
        )
    if not images:
        raise SystemExit(f"error: no pictures in {args.images}")
    print(
        f"{len(images)} pictures in {images[0].parent}, e.g. {images[0].name} {cv2.imread(str(images[0])).shape[1::-1]}"
    )
    folder = link_inputs(images, work / "inputs")
    images = sorted(folder.iterdir())
    print(
        f"{processor_name()} (native bf16: {', '.join(bf16_features()) or 'none'}), OpenCV {cv2.__version__}, "
        f"{cv2.getNumThreads()} threads; model: release architecture, random weights; batch_colorize.py with {describe(args)}"
    )

    sample_times, batch_runs = [], []
    for round_number in range(1, args.rounds + 1):
        sample_seconds, sample_cpu = run_sample_loop(model, images, work / "sample_out")
        run = run_batch(model, folder, work / "batch_out", *setting_arguments(args), *args.batch_options)
        sample_times.append(sample_seconds)
        batch_runs.append(run)
        print(
            f"round {round_number}: OpenCV sample loop {sample_seconds:.1f} s (CPU {sample_cpu:.1f} s), "
            f"batch_colorize.py {run.seconds:.1f} s (CPU {run.cpu:.1f} s), ratio {sample_seconds / run.seconds:.2f}, "
            f"peak {run.peak_mib:.0f} MiB, {run.engine}"
        )
    sample, batch = min(sample_times), min(run.seconds for run in batch_runs)
    print(
        f"best: OpenCV sample loop {sample:.1f} s ({len(images) / sample:.2f} images/s), "
        f"batch_colorize.py {batch:.1f} s ({len(images) / batch:.2f} images/s), ratio {sample / batch:.2f}"
    )
    engines = {run.engine for run in batch_runs}
    print(
        f"batch_colorize.py peak resident memory: {max(run.peak_mib for run in batch_runs):.0f} MiB; "
        f"{'the same engine in every round' if len(engines) == 1 else 'DIFFERENT engines: ' + ' / '.join(sorted(engines))}"
    )
    print("agreement with the OpenCV sample:")
    compare_jpeg_outputs(work / "sample_out", work / "batch_out", images)
    agree = check_agreement(model, images, work, args.engine)
    if args.stages:
        settings = {name: getattr(args, name) for name in ("engine", "precision", "upsample") if getattr(args, name)}
        time_stages(model, images[0], work, settings)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())
