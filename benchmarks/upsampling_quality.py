#!/usr/bin/env python3
"""How well each ab upsampling method restores real colour, measured against ground truth, and what it costs.

Independent of any model's weights: for every real colour photo, its true ab at full resolution is averaged down
to the grid the net predicts (56x56 for a 224 input of the whole picture), brought back with each method, guided
by the photo's own full-resolution L, and compared with the truth: PSNR of ab (peak 255, the span of a and b),
RMS ab error within 3 pixels of an L edge (where bilinear colour bleeds), and on how many photos the method beats
bilinear. Then the whole colour work (compose: upsampling, gamut, 8-bit BGR) of each of our methods is scored the
same way on its output picture, with how far the output's lightness moved from the photo's (mean |L out - L in| in
grey levels, L on 0..255), also for a colour-rich prediction (random vivid ab on the same grid, much of it outside
sRGB), which is where clipping R, G and B changes L. Time is the upsampling step alone on a 12 MP (4000x3000) picture, best of --repeat runs, as wall-clock
and as CPU time of all threads (steadier on a busy machine; above wall-clock when work runs in parallel); with the release
prototxt available the whole colorize step at 12 MP is timed too, against the OpenCV sample's loop.

    python -m benchmarks.upsampling_quality [FOLDER ...] [--candidates] [--per-image]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from colorization import metrics
from colorization.composition import compose, upsample_ab
from colorization.image_io import READ_EXTENSIONS, read_image
from colorization.preparation import PreparedImage, split_alpha, to_unit_float
from colorization.upsampling import DEFAULT_RANGE_SIGMA, DEFAULT_SPATIAL_SIGMA, Upsampling

IMAGES_ENV = "COLORIZE_TEST_IMAGES"
DEFAULT_IMAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "images"
TIMING_SIZE = (4000, 3000)
SLOW_TIMING_SIZE = (1155, 866)
"""Where a candidate's cost grows with the window as well as the pixels, it is timed on 1 MP only (marked)."""


def ours(method: str, **settings):
    upsampling = Upsampling(method, **settings)
    return lambda ab, lightness: upsample_ab(ab, lightness.shape[1], lightness.shape[0], upsampling, lightness)


def bilinear(ab, lightness):
    return cv2.resize(ab, (lightness.shape[1], lightness.shape[0]), interpolation=cv2.INTER_LINEAR)


def bicubic(ab, lightness):
    return cv2.resize(ab, (lightness.shape[1], lightness.shape[0]), interpolation=cv2.INTER_CUBIC)


def cell_pixels(ab, lightness) -> float:
    return lightness.shape[1] / ab.shape[1]


def opencv_guided_filter(ab, lightness):
    """ximgproc.guidedFilter at full resolution on the bilinear ab (best settings we found: radius 1/4 cell, eps 4)."""
    radius = max(1, int(round(0.25 * cell_pixels(ab, lightness))))
    return cv2.ximgproc.guidedFilter(lightness, bilinear(ab, lightness), radius, 4.0)


def opencv_joint_bilateral(ab, lightness):
    """ximgproc.jointBilateralFilter at full resolution on the bilinear ab (sigma colour 5 L, space 1/2 cell)."""
    spread = 0.5 * cell_pixels(ab, lightness)
    upsampled = bilinear(ab, lightness)
    return np.dstack(
        [
            cv2.ximgproc.jointBilateralFilter(lightness, np.ascontiguousarray(upsampled[:, :, c]), -1, 5.0, spread)
            for c in range(2)
        ]
    )


def opencv_bilateral_solver(ab, lightness):
    """ximgproc.fastBilateralSolverFilter; pip's opencv-contrib wheels are built without Eigen and refuse it."""
    guide = np.clip(lightness * 2.55, 0, 255).astype(np.uint8)
    confidence = np.full(lightness.shape, 255, np.uint8)
    return cv2.ximgproc.fastBilateralSolverFilter(
        guide, bilinear(ab, lightness), confidence, 0.5 * cell_pixels(ab, lightness), 8, 8, 128
    )


def fast_guided_filter(ab, lightness, epsilon=4.0):
    """He & Sun's fast guided filter fitted on the colour-cell grid itself (ab ~ slope * L + offset per 3x3 cells)."""
    cells = (ab.shape[1], ab.shape[0])
    guide = cv2.resize(lightness, cells, interpolation=cv2.INTER_AREA)

    def mean(image):
        return cv2.boxFilter(image, -1, (3, 3), borderType=cv2.BORDER_REFLECT)

    mean_guide, mean_ab = mean(guide), mean(ab)
    variance = mean(guide * guide) - mean_guide**2
    covariance = mean(ab * guide[:, :, None]) - mean_ab * mean_guide[:, :, None]
    slope = covariance / (variance + epsilon)[:, :, None]
    offset = mean_ab - slope * mean_guide[:, :, None]
    full = cv2.resize(np.concatenate([mean(slope), mean(offset)], axis=2), lightness.shape[::-1])
    return full[:, :, :2] * lightness[:, :, None] + full[:, :, 2:]


def methods(candidates: bool) -> dict:
    chosen = {
        "bilinear (reference)": ours("bilinear"),
        f"guided (ours, {DEFAULT_SPATIAL_SIGMA} cell, {DEFAULT_RANGE_SIGMA:g} L)": ours("guided"),
    }
    if candidates:
        chosen.update(
            {
                "bicubic": bicubic,
                "guided, 0.35 cell, 5 L": ours("guided", spatial_sigma=0.35, range_sigma=5.0),
                "guided, 0.75 cell, 12 L": ours("guided", spatial_sigma=0.75, range_sigma=12.0),
                "fast guided filter (cell grid)": fast_guided_filter,
                "ximgproc.guidedFilter (full res)": opencv_guided_filter,
                "ximgproc.jointBilateralFilter": opencv_joint_bilateral,
                "ximgproc.fastBilateralSolver": opencv_bilateral_solver,
            }
        )
    return chosen


def ground_truth(folders: list[Path]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, L, true ab) of every colour photo; grey pictures have no colour to measure and are left out."""
    photos = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in READ_EXTENSIONS:
                continue
            colour, _ = split_alpha(read_image(path))
            lab = cv2.cvtColor(to_unit_float(colour), cv2.COLOR_BGR2Lab)
            if np.abs(lab[:, :, 1:]).mean() < 1.0:
                print(f"  (left out {path.name}: it has no colour)")
                continue
            photos.append((path.name, np.ascontiguousarray(lab[:, :, 0]), np.ascontiguousarray(lab[:, :, 1:])))
    return photos


def measure(method, photos, cells: int):
    scores = []
    for _, lightness, truth in photos:
        coarse = cv2.resize(truth, (cells, cells), interpolation=cv2.INTER_AREA)
        estimate = method(coarse, lightness)
        edges = metrics.edge_region(lightness)
        scores.append(
            (
                metrics.psnr(estimate, truth, metrics.AB_PEAK),
                metrics.ab_rmse(estimate, truth, edges),
                metrics.ab_rmse(estimate, truth),
            )
        )
    return np.array(scores)


def vivid_prediction(cells: int, seed: int) -> np.ndarray:
    """Strong colour of every hue on the net's grid, as a confident net predicts: much of it sRGB cannot show."""
    return np.random.default_rng(seed).uniform(-110, 110, (cells, cells, 2)).astype(np.float32)


def composed_quality(upsample: str, photos, cells: int) -> np.ndarray:
    """Per photo: PSNR of the output picture's ab against the truth, and the mean lightness change in grey levels of
    the output for the true colour and for a colour-rich prediction."""
    scores = []
    for index, (_, lightness, truth) in enumerate(photos):
        prepared = PreparedImage(lightness, None, None, np.dtype(np.uint8))
        row = []
        for coarse in (cv2.resize(truth, (cells, cells), interpolation=cv2.INTER_AREA), vivid_prediction(cells, index)):
            output = cv2.cvtColor(to_unit_float(compose(prepared, coarse, upsample)), cv2.COLOR_BGR2Lab)
            row += [
                metrics.psnr(np.ascontiguousarray(output[:, :, 1:]), truth, metrics.AB_PEAK),
                np.abs(output[:, :, 0] - lightness).mean() * 2.55,
            ]
        scores.append([row[0], row[1], row[3]])
    return np.array(scores)


def print_composed_quality(photos, cells: int) -> None:
    print("\nthe whole colour work (compose, 8-bit output) scored the same way:")
    header = f"{'upsample':<10} {'PSNR ab dB':>10} {'L change, true colour':>22} {'L change, colour-rich':>22}"
    print(header)
    print("-" * len(header))
    for upsample in ("bilinear", "guided"):
        scores = composed_quality(upsample, photos, cells).mean(axis=0)
        print(f"{upsample:<10} {scores[0]:10.2f} {scores[1]:22.2f} {scores[2]:22.2f}")


def time_method(method, photos, cells: int, repeat: int, size=TIMING_SIZE) -> float:
    _, lightness, truth = max(photos, key=lambda photo: photo[1].size)
    big = cv2.resize(lightness, size, interpolation=cv2.INTER_CUBIC)
    coarse = cv2.resize(truth, (cells, cells), interpolation=cv2.INTER_AREA)
    wall = processor = float("inf")
    for _ in range(repeat):
        started, started_processor = time.perf_counter(), time.process_time()
        method(coarse, big)
        wall = min(wall, time.perf_counter() - started)
        processor = min(processor, time.process_time() - started_processor)
    return wall * 1000, processor * 1000


def time_whole_colorize(reference_dir: str | None, repeat: int) -> None:
    """Colorizer.colorize at 12 MP with each method, beside the OpenCV sample's loop, on the random-weight release net."""
    from benchmarks.opencv_sample import load_sample_network, sample_colorize
    from colorization import Colorizer
    from tests.support.release_model import release_architecture

    with tempfile.TemporaryDirectory() as work:
        try:
            files = release_architecture(Path(work), reference_dir)
        except SystemExit as reason:
            print(f"\n(whole-colorize timing skipped: {reason})")
            return
        frame = np.random.default_rng(0).integers(0, 256, (TIMING_SIZE[1], TIMING_SIZE[0], 3), dtype=np.uint8)
        frame = cv2.GaussianBlur(frame, (0, 0), 8)
        runs = {"OpenCV sample loop": lambda: sample_colorize(sample, frame)}
        sample = load_sample_network(*files.values())
        for method in ("bilinear", "guided"):
            colorizer = Colorizer.load(**files, backend="cpu", upsample=method)
            runs[f"Colorizer.colorize, {method}"] = lambda colorizer=colorizer: colorizer.colorize(frame)
        print(f"\nwhole colorize of one 12 MP picture (release architecture, random weights, CPU), best of {repeat}:")
        baseline = None
        for name, run in runs.items():
            best = min(timed(run) for _ in range(repeat))
            baseline = baseline or best
            print(f"  {name:<32} {best:8.0f} ms   {best / baseline:5.2f} x the sample")


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "folders",
        nargs="*",
        type=Path,
        help=f"folders of colour photos (default: ${IMAGES_ENV}, else ../shared/images)",
    )
    parser.add_argument("--cells", type=int, default=56, help="the net's output grid (56 for a 224 input)")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per method; the best counts")
    parser.add_argument("--candidates", action="store_true", help="also measure the alternatives we tried")
    parser.add_argument("--per-image", action="store_true", help="also print PSNR of ab per photo")
    parser.add_argument("--reference-dir", help="folder with the release prototxt, to time the whole colorize step too")
    parser.add_argument("--no-colorize-timing", action="store_true", help="skip timing the whole colorize step")
    args = parser.parse_args(argv)
    folders = args.folders or [Path(os.environ.get(IMAGES_ENV, DEFAULT_IMAGES))]
    photos = ground_truth(folders)
    if not photos:
        print("error: no colour photos found in " + ", ".join(map(str, folders)), file=sys.stderr)
        return 2
    print(
        f"{len(photos)} colour photos, ab averaged to {args.cells}x{args.cells} and upsampled back; "
        f"timing on {TIMING_SIZE[0]}x{TIMING_SIZE[1]} (12 MP), best of {args.repeat}\n"
    )
    header = (
        f"{'method':<40} {'PSNR ab dB':>10} {'edge RMSE':>10} {'RMSE ab':>8} {'beats bilinear':>15} "
        f"{'ms / 12 MP':>11} {'CPU ms':>8} {'x bilinear':>10}"
    )
    print(header)
    print("-" * len(header))
    reference_scores = reference_time = None
    for name, method in methods(args.candidates).items():
        try:
            scores = measure(method, photos, args.cells)
            slow = method is opencv_joint_bilateral
            milliseconds, processor = time_method(
                method, photos, args.cells, 1 if slow else args.repeat, SLOW_TIMING_SIZE if slow else TIMING_SIZE
            )
        except cv2.error as error:
            print(f"{name:<40} not available in this OpenCV build: {str(error).strip().splitlines()[-1][:80]}")
            continue
        if reference_scores is None:
            reference_scores, reference_time = scores, milliseconds
        wins = int((scores[:, 0] > reference_scores[:, 0]).sum())
        print(
            f"{name:<40} {scores[:, 0].mean():10.2f} {scores[:, 1].mean():10.2f} {scores[:, 2].mean():8.2f} "
            f"{wins:>9d} of {len(photos):<3d} {milliseconds:11.0f} {processor:8.0f} {milliseconds / reference_time:10.1f}"
            + ("  (timed on 1 MP only)" if slow else "")
        )
        if args.per_image:
            print("    " + "  ".join(f"{photo[0]} {psnr:.2f}" for photo, psnr in zip(photos, scores[:, 0])))
    print_composed_quality(photos, args.cells)
    if not args.no_colorize_timing:
        time_whole_colorize(args.reference_dir, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
