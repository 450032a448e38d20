"""Where the time goes for one large photo: read / prepare / forward / compose / write, next to the OpenCV sample.

    python -m benchmarks.stage_times                 # a synthetic 4000x3000 JPEG
    python -m benchmarks.stage_times --image scan.jpg --repeat 5

Uses the release architecture with random weights (same compute as the real model).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8
from colorization import Colorizer, read_image, write_image
from tests.support.release_model import release_architecture


def synthetic_jpeg(path: Path, width: int = 4000, height: int = 3000) -> None:
    """A photo-like JPEG: smooth gradients, edges and grain, so decode/encode cost is realistic."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grey = 128 + 60 * np.sin(x / 150) * np.cos(y / 110) + 30 * np.sin((x + y) / 37)
    grey[height // 4 : height // 2, width // 3 : width // 2] = 220
    image = np.clip(grey[:, :, None] + rng.normal(0, 8, (height, width, 3)), 0, 255).astype(np.uint8)
    cv2.imwrite(str(path), image, [cv2.IMWRITE_JPEG_QUALITY, 92])


def timed(function, *arguments):
    started = time.perf_counter()
    result = function(*arguments)
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, help="photo to time (default: a synthetic 4000x3000 JPEG)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per stage; the median is printed")
    parser.add_argument("--reference-dir", help="folder with the release prototxt and pts_in_hull.npy")
    parser.add_argument("--engine", default="caffe", help="engine to time (default: caffe, as the sample)")
    parser.add_argument("--upsample", default="bilinear", help="upsampling to time (default: bilinear, as the sample)")
    parser.add_argument("--conversion", default="reference", help="reference or fast full-size colour work")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        model = release_architecture(work, args.reference_dir)
        image_path = args.image or work / "large.jpg"
        if not args.image:
            synthetic_jpeg(image_path)
        colorizer = Colorizer.load(**model, engine=args.engine, upsample=args.upsample, conversion=args.conversion)
        sample = load_sample_network(*model.values())
        colorizer.colorize(np.zeros((224, 224, 3), np.uint8))  # warm-up: first forward allocates

        stages: dict[str, list[float]] = {
            name: [] for name in ("read", "prepare", "forward", "compose", "write", "total", "sample")
        }
        for _ in range(args.repeat):
            image, seconds = timed(read_image, image_path)
            stages["read"].append(seconds)
            prepared, seconds = timed(colorizer.prepare, image)
            stages["prepare"].append(seconds)
            (ab,), seconds = timed(colorizer.predict_ab, [prepared])
            stages["forward"].append(seconds)
            colour, seconds = timed(colorizer.compose, prepared, ab)
            stages["compose"].append(seconds)
            _, seconds = timed(write_image, work / "out.jpg", colour)
            stages["write"].append(seconds)
            stages["total"].append(sum(stages[name][-1] for name in ("read", "prepare", "forward", "compose", "write")))

            started = time.perf_counter()
            frame = cv2.imread(str(image_path))
            cv2.imwrite(str(work / "sample.jpg"), to_uint8(sample_colorize(sample, frame)))
            stages["sample"].append(time.perf_counter() - started)

        height, width = image.shape[:2]
        print(
            f"{width}x{height} {image_path.name}, median of {args.repeat}, OpenCV {cv2.__version__}; "
            f"{colorizer.engine}; --upsample {args.upsample} --conversion {args.conversion}"
        )
        for name, values in stages.items():
            print(f"  {name:8s} {1000 * statistics.median(values):8.1f} ms")
        ratio = statistics.median(stages["sample"]) / statistics.median(stages["total"])
        print(f"  ratio sample/ours: {ratio:.2f}")


if __name__ == "__main__":
    main()
