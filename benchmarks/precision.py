#!/usr/bin/env python3
"""Reduced precision measured against fp32: how far bf16 (and fp16, where a device has it) moves the network's 56x56
ab and the final 8-bit pictures (default settings) on the test photos, and what it gains in forward time, beside the
OpenCV sample's forward in the same run.

Each reduced precision is compared with fp32 on the same engine and device, so that only the arithmetic differs; a
second fp32 engine (cv2.dnn) shows how far two fp32 runtimes already are from each other. By default the release
architecture runs with random trained-like weights: their over-confident colours exaggerate the differences a real
model shows. With the real weights, pass them:

    python -m benchmarks.precision [--images DIR] [--limit 5] [--runs 9] [--work-dir DIR]
    python -m benchmarks.precision --model-dir models/                     # the release files, if you have them
    python -m benchmarks.precision --caffemodel mine.caffemodel [--prototxt FILE] [--points FILE]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from benchmarks.engine_benchmark import SIZE
from benchmarks.opencv_sample import load_sample_network
from colorization import Colorizer, ModelFiles, metrics
from colorization.engines.base import PRECISIONS, bf16_features, precision_fallbacks_unsaid, processor_name
from colorization.engines.opencv_dnn import caffe_importer_available
from colorization.engines.registry import installed
from tests.support import IMAGES_ENV, REPO
from tests.support.release_model import release_architecture

REDUCED = [precision for precision in PRECISIONS if precision != "fp32"]


@dataclass
class Row:
    label: str
    colorizer: Colorizer
    reference: Colorizer | None
    """The fp32 colorizer this row is compared with; None for the reference itself."""


def benchmark_photos(folder: Path, limit: int) -> list[np.ndarray]:
    paths = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))[:limit]
    if not paths:
        raise SystemExit(f"error: no photos in {folder}: pass --images DIR or set {IMAGES_ENV}")
    return [cv2.imread(str(path), cv2.IMREAD_COLOR) for path in paths]


def model_files(args, work_dir: Path) -> tuple[dict, str]:
    """Colorizer.load's file keywords and a line saying which weights they are."""
    if args.model_dir or args.caffemodel:
        files = {
            "model_dir": args.model_dir,
            "prototxt": args.prototxt,
            "caffemodel": args.caffemodel,
            "points": args.points,
        }
        resolved = ModelFiles.resolve(**files)
        return files, f"weights: {resolved.caffemodel.path} (given)"
    files = release_architecture(work_dir, args.reference_dir)
    note = (
        "weights: RANDOM trained-like weights in the release architecture (the real ones cannot be downloaded here); "
        "their over-confident colours exaggerate the differences. With real weights: --model-dir DIR or --caffemodel FILE"
    )
    return files, note


def load_rows(files: dict) -> tuple[list[Row], list[str]]:
    """fp32 on the engine that runs bf16 on the CPU (OpenVINO when installed), a second fp32 engine (cv2.dnn), then
    each reduced precision on the engine --engine auto runs it with, beside fp32 on that same engine and device; and
    a line for each that cannot run here."""
    loaded: dict[tuple[str, str], Colorizer] = {}

    def load(engine: str, precision: str = "fp32") -> Colorizer:
        if (engine, precision) not in loaded:
            started = time.perf_counter()
            loaded[engine, precision] = Colorizer.load(**files, engine=engine, precision=precision, download=False)
            print(
                f"loaded {loaded[engine, precision].engine.description} in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
        return loaded[engine, precision]

    reference = load("openvino" if installed("openvino") else "onnx")
    rows = [Row("fp32 (reference)", reference, None)]
    if reference.engine.name != "onnx":
        rows.append(Row("fp32", load("onnx"), reference))
    unavailable = []
    for precision in REDUCED:
        with precision_fallbacks_unsaid():
            colorizer = load("auto", precision)
        if colorizer.engine.precision != precision:
            reason = colorizer.engine.precision_fallback or f"{colorizer.engine.description} runs fp32"
            unavailable.append(f"{precision}: not available here ({reason})")
            continue
        rows.append(Row(precision, colorizer, load(colorizer.engine.name)))
    return rows, unavailable


def differences(rows: list[Row], photos: list[np.ndarray]) -> dict[int, tuple]:
    """For each compared row: the statistics of its ab and of its final pictures against its fp32, over all photos."""
    results = {}
    for index, row in enumerate(rows):
        if row.reference is None:
            continue
        ab, pictures = [], []
        for photo in photos:
            prepared = row.colorizer.prepare(photo)
            (reduced_ab,), (fp32_ab,) = row.colorizer.predict_ab([prepared]), row.reference.predict_ab([prepared])
            ab.append((reduced_ab.ravel(), fp32_ab.ravel()))
            pictures.append(
                (row.colorizer.compose(prepared, reduced_ab).ravel(), row.reference.compose(prepared, fp32_ab).ravel())
            )
        results[index] = tuple(
            metrics.difference_statistics(np.concatenate([a for a, _ in pairs]), np.concatenate([b for _, b in pairs]))
            for pairs in (ab, pictures)
        )
    return results


def forward_times(forwards: list, blob: np.ndarray, runs: int, warmup: int) -> list[float]:
    """Median forward of each, timed in interleaved rounds so that load from other processes falls on all alike."""
    for forward in forwards:
        for _ in range(warmup):
            forward(blob)
    times = [[] for _ in forwards]
    for _ in range(runs):
        for measured, forward in zip(times, forwards):
            started = time.perf_counter()
            forward(blob)
            measured.append(time.perf_counter() - started)
    return [statistics.median(measured) for measured in times]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--images",
        type=Path,
        default=Path(os.environ.get(IMAGES_ENV, REPO.parent / "shared" / "images")),
        help="folder of test photos",
    )
    parser.add_argument("--limit", type=int, default=5, help="use the first N photos (sorted by name)")
    parser.add_argument("--runs", type=int, default=9, help="timed forwards per precision (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed forwards per precision first")
    parser.add_argument(
        "--threads",
        type=int,
        default=cv2.getNumThreads(),
        help="cv2.dnn threads; the other runtimes get the same count",
    )
    parser.add_argument(
        "--reference-dir", help="folder with the release prototxt and pts_in_hull.npy (for the random weights)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the random-weight caffemodel goes, to reuse it (default: a temporary folder)",
    )
    real = parser.add_argument_group("real weights, instead of random ones")
    real.add_argument("--model-dir", help="folder with the release model files")
    real.add_argument(
        "--caffemodel", help="these weights (with --prototxt and --points, or the release ones from --model-dir)"
    )
    real.add_argument("--prototxt", help="this network definition")
    real.add_argument("--points", help="these 313x2 ab cluster centres")
    args = parser.parse_args(argv)
    cv2.setNumThreads(args.threads)
    photos = benchmark_photos(args.images, args.limit)
    with tempfile.TemporaryDirectory() as temporary:
        files, weights_note = model_files(args, args.work_dir or Path(temporary))
        rows, unavailable = load_rows(files)
        found = differences(rows, photos)
        blob = Colorizer.blob([rows[0].colorizer.prepare(photos[0]).network_input])
        forwards = [row.colorizer.engine.forward for row in rows]
        if caffe_importer_available():
            resolved = ModelFiles.resolve(**files) if "model_dir" in files else None
            paths = (
                [resolved.prototxt.path, resolved.caffemodel.path, resolved.points.path]
                if resolved
                else list(files.values())
            )
            sample = load_sample_network(*paths)

            def sample_forward(blob):
                sample.setInput(blob)
                return sample.forward()

            forwards.append(sample_forward)
        medians = forward_times(forwards, blob, max(args.runs, 1), args.warmup)
    sample_median = medians[-1] if caffe_importer_available() else None
    print(f"reduced precision against fp32 on {len(photos)} photos of {args.images}, default settings")
    print(weights_note)
    print(
        f"{processor_name()} (native bf16: {', '.join(bf16_features()) or 'none'}), OpenCV {cv2.__version__}, {args.threads} threads; "
        f"forward at {SIZE}x{SIZE}, batch 1, median of {args.runs} interleaved runs"
    )
    width = max(len(row.colorizer.engine.description) for row in rows)
    print(f"{'':<17} {'':<{width}}  {'ab 56x56 |difference|':^28}  {'8-bit picture |difference|':^26}")
    print(
        f"{'precision':<17} {'engine':<{width}}  {'mean':>8} {'p99':>9} {'max':>9}  {'mean':>8} {'p99':>8} {'max':>8}  {'forward':>9}  vs sample"
    )
    for index, (row, median) in enumerate(zip(rows, medians)):
        if index in found:
            ab, picture = found[index]
            cells = (
                f"{ab.mean:8.3f} {ab.p99:9.3f} {ab.max:9.3f}  {picture.mean:8.3f} {picture.p99:8.0f} {picture.max:8.0f}"
            )
        else:
            cells = f"{'(what the others are compared with)':^56}"
        ratio = f"{sample_median / median:5.2f}x" if sample_median else "(no Caffe importer: no sample)"
        print(f"{row.label:<17} {row.colorizer.engine.description:<{width}}  {cells}  {median * 1000:6.1f} ms  {ratio}")
    if sample_median:
        print(
            f"{'OpenCV sample':<17} {'Caffe in cv2.dnn, fp32':<{width}}  {'':56}  {sample_median * 1000:6.1f} ms  1.00x"
        )
    for line in unavailable:
        print(line)
    print(
        "ab in Lab units (-128..127); pictures in 8-bit levels over B, G and R; each reduced precision against fp32 on its own engine and device"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
