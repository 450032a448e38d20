"""batch_colorize.py --ray local against the plain batch run, on the same folder in the same run, on this machine.

    python -m benchmarks.cluster_benchmark                    # the shared photos, each linked --copies times
    python -m benchmarks.cluster_benchmark --images DIR --copies 1

Both runs are batch_colorize.py as users run it (a separate process each, -q, --report); pictures/s is the
report's, which counts from the first picture to the last (the model load, and Ray's start-up, actors and model
shipment, come before it and are shown apart as the whole command's wall time). Their ratio is what Ray costs on
one machine. Then, in this process, the per-picture time of each stage (reading and preparing, the network,
composing and writing), from which docs/cluster.md estimates a cluster. The network is the release architecture
with random trained-like weights (tests/support/release_model.py): the real model's compute, not its colours.
This is a benchmark, not a test: on a shared machine the times vary.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
from colorization import Colorizer
from colorization.batch.planning import Job
from colorization.batch.stages import PictureWork, compose_and_write, read_and_prepare
from colorization.image_io import READ_EXTENSIONS
from tests.support.release_model import release_architecture

SHARED_IMAGES = REPO.parent / "shared" / "images"


def linked_folder(images: list[Path], copies: int, folder: Path) -> Path:
    """The same pictures `copies` times over, as links, so both runs read the same files."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for copy in range(copies):
        for path in images:
            (folder / f"{path.stem}_{copy:02d}{path.suffix}").symlink_to(path.resolve())
    return folder


def run_batch(model: dict, folder: Path, output: Path, report: Path, *more: str) -> tuple[float, dict]:
    """(wall seconds of the whole command, its report)."""
    shutil.rmtree(output, ignore_errors=True)
    command = [
        sys.executable,
        str(REPO / "batch_colorize.py"),
        str(folder),
        str(output),
        "-q",
        "--report",
        str(report),
        "--prototxt",
        str(model["prototxt"]),
        "--caffemodel",
        str(model["caffemodel"]),
        "--points",
        str(model["points"]),
        *more,
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    return time.perf_counter() - started, json.loads(report.read_text())


def stage_times(model: dict, images: list[Path], output: Path) -> dict[str, float]:
    """Median seconds per picture of each stage, one picture at a time, as a cluster's tasks and actors run them."""
    colorizer = Colorizer.load(**model, conversion="fast", quiet=True)
    work = PictureWork.of(colorizer)
    output.mkdir(parents=True, exist_ok=True)
    times: dict[str, list[float]] = {"read and prepare": [], "network": [], "compose and write": []}
    colorizer.predict_ab([read_and_prepare(Job(images[0], output / "warm-up.png"), work, 0.0).prepared])
    for index, path in enumerate(images * 2):
        job = Job(path, output / f"{index:03d}{path.suffix}")
        started = time.perf_counter()
        item = read_and_prepare(job, work, started)
        read = time.perf_counter()
        ab = colorizer.predict_ab([item.prepared])[0]
        predicted = time.perf_counter()
        compose_and_write(item, ab, work)
        times["read and prepare"].append(read - started)
        times["network"].append(predicted - read)
        times["compose and write"].append(time.perf_counter() - predicted)
    print(f"stages on {colorizer.device}, median per picture of {len(images) * 2}:")
    return {stage: statistics.median(values) for stage, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=Path, default=SHARED_IMAGES)
    parser.add_argument("--copies", type=int, default=4, help="how many times each picture is in the folder")
    parser.add_argument("--work", type=Path, help="folder for the model and outputs (default: a temporary one)")
    args = parser.parse_args()
    images = sorted(p for p in args.images.iterdir() if p.suffix.lower() in READ_EXTENSIONS)
    if not images:
        sys.exit(f"no pictures in {args.images}")
    work = args.work or Path(tempfile.mkdtemp(prefix="cluster-benchmark-"))
    reference = os.environ.get("COLORIZE_REFERENCE_DIR")
    model = release_architecture(work / "model", reference)
    folder = linked_folder(images, args.copies, work / "inputs")
    count = len(images) * args.copies
    print(f"{count} pictures ({len(images)} from {args.images}, {args.copies} times each); {os.cpu_count()} cores here")
    print(
        "network: the release architecture with random trained-like weights (the release caffemodel cannot be downloaded here)"
    )

    plain_wall, plain = run_batch(model, folder, work / "plain", work / "plain.json")
    ray_wall, spread = run_batch(model, folder, work / "ray", work / "ray.json", "--ray", "local")
    for name, wall, report in (("plain batch", plain_wall, plain), ("--ray local", ray_wall, spread)):
        print(
            f"{name:12s} {report['images_per_second']:6.2f} pictures/s over {report['seconds']:.1f} s of colorizing "
            f"({wall:.1f} s for the whole command), backend: {report['backend']}"
        )
    ratio = spread["images_per_second"] / plain["images_per_second"]
    print(
        f"--ray local / plain: {ratio:.2f}x the pictures/s ({(1 - ratio) * 100:+.0f}% is Ray's overhead on one machine)"
    )
    identical = all(
        (work / "plain" / p.name).read_bytes() == (work / "ray" / p.name).read_bytes() for p in folder.iterdir()
    )
    print(f"outputs bit-for-bit equal: {identical}")

    stages = stage_times(model, images, work / "stages")
    for stage, seconds in stages.items():
        print(f"  {stage:18s} {seconds * 1000:7.1f} ms")
    cpu = stages["read and prepare"] + stages["compose and write"]
    print(
        f"  CPU stages together {cpu * 1000:7.1f} ms per picture (what a cluster's CPU tasks must supply per picture)"
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
