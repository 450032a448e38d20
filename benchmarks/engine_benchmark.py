#!/usr/bin/env python3
"""Forward pass of each engine against the OpenCV sample's Caffe path, at 224x224 batch 1, in one run.

The release architecture with random weights has the release's exact compute. The engines are timed in
interleaved rounds (sample, onnx, onnxruntime, openvino, sample, ...) so that load from other processes falls on all
of them alike; the ratios are more trustworthy than the absolute times on a shared machine. Each installed engine
runs fp32, and OpenVINO also every reduced precision this processor has (bf16 with AVX512-BF16 or AMX).

    python -m benchmarks.engine_benchmark [--runs 9] [--threads N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.opencv_sample import load_sample_network
from colorization import Colorizer
from colorization.engines.base import bf16_features, processor_name
from colorization.engines.opencv_dnn import caffe_importer_available
from colorization.engines.registry import installed
from tests.support.release_model import release_architecture

SIZE = 224


def sample_input() -> np.ndarray:
    """L - 50 of a real photo when the shared images are there (the work does not depend on the values)."""
    photos = sorted((Path(__file__).resolve().parent.parent.parent / "shared" / "images").glob("*.png"))
    image = cv2.imread(str(photos[0])) if photos else np.full((SIZE, SIZE, 3), 128, np.uint8)
    rgb = cv2.resize(image[:, :, ::-1].astype(np.float32) / 255, (SIZE, SIZE))
    return (cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)[:, :, 0] - 50)[None, None].astype(np.float32)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9, help="timed forwards per engine (median reported; at least 7)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed forwards per engine first")
    parser.add_argument(
        "--threads", type=int, default=cv2.getNumThreads(), help="cv2.dnn threads; ONNX Runtime gets the same count"
    )
    parser.add_argument("--reduced", nargs="*", default=["bf16"], help="reduced precisions to time in OpenVINO too")
    parser.add_argument("--reference-dir", help="folder with the release prototxt and pts_in_hull.npy")
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the random-weight caffemodel and its compiled form go (default: a temporary folder)",
    )
    args = parser.parse_args()
    cv2.setNumThreads(args.threads)
    with tempfile.TemporaryDirectory() as temporary:
        files = release_architecture(args.work_dir or Path(temporary), args.reference_dir)
        blob = sample_input()
        forwards = {}
        if caffe_importer_available():
            sample = load_sample_network(files["prototxt"], files["caffemodel"], files["points"])

            def sample_forward(blob):
                sample.setInput(blob)
                return sample.forward()

            forwards["OpenCV sample (Caffe in cv2.dnn)"] = sample_forward
        engines = [("onnx", "fp32")] + ([("onnxruntime", "fp32")] if installed("onnxruntime") else [])
        if installed("openvino"):
            engines += [("openvino", precision) for precision in ("fp32", *args.reduced)]
        for engine, precision in engines:
            started = time.perf_counter()
            colorizer = Colorizer.load(**files, engine=engine, backend="cpu", precision=precision)
            print(
                f"{engine} {precision}: loaded in {time.perf_counter() - started:.1f} s (the first ONNX load compiles)",
                file=sys.stderr,
            )
            ran = getattr(colorizer.engine, "precision", "fp32")
            if ran != precision:
                print(f"  {engine} {precision}: not available on this processor (ran {ran}), left out", file=sys.stderr)
                continue
            forwards[colorizer.engine.description] = colorizer.engine.forward
        for forward in forwards.values():
            for _ in range(args.warmup):
                forward(blob)
        times = {name: [] for name in forwards}
        for _ in range(max(args.runs, 1)):
            for name, forward in forwards.items():
                started = time.perf_counter()
                forward(blob)
                times[name].append(time.perf_counter() - started)
    print(f"{processor_name()} (native bf16: {', '.join(bf16_features()) or 'none'})")
    print(
        f"forward at {SIZE}x{SIZE}, batch 1, OpenCV {cv2.__version__}, {args.threads} threads, {args.runs} interleaved runs"
    )
    reference = statistics.median(next(iter(times.values()))) if caffe_importer_available() else None
    for name, measured in times.items():
        median = statistics.median(measured)
        ratio = f"{reference / median:5.2f}x the sample" if reference else "(no Caffe importer: no sample to compare)"
        print(f"  {name:<70} median {median * 1000:7.1f} ms  min {min(measured) * 1000:7.1f} ms  {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
