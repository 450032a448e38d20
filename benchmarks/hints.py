#!/usr/bin/env python3
"""What colour hints achieve and cost, with the release architecture and RANDOM weights (the real weights cannot
be downloaded here; any weights have the same cost).

- Oracle hints, as in Zhang et al.'s SIGGRAPH 2017 evaluation: on each colour photo, N points drawn at random
  (fixed seeds, uniform over the picture) are given the photo's true colour there as hints; the result is scored
  against the photo: PSNR of ab (peak 255) and Hasler-Süsstrunk colourfulness, for N = 0 (the automatic result),
  1, 2, 5, 10, 20, 50, averaged over --draws draws of the points. Random weights make the automatic colour poor, so
  the gain here is larger than real weights would leave room for.
- Edge respect: two flat regions split by a sharp vertical edge, a hint in one: the share of that region within
  delta E 10 of the hint's colour (at the region's lightness) and how far the other region's ab moved on average.
- Time per re-render (decode from the kept scores with hints, then compose), as the web page does it: at a 1024-pixel
  preview and at full size (12 MP), with 0, 5, 50 and 1000 hints; best of --repeat, wall-clock and CPU time.
- With --points patches, the oracle's points (in every table) are drawn as the authors' own evaluation code draws them: the mean
  colour of small patches, placed around the centre more often than near the borders.
- With --routes, the same oracle, edge and time figures for the other routes (benchmarks/hint_routes.py).
- With --bound, what ten hints would add if each filled its true-colour region: an upper bound for any way of
  spreading them over regions, since the photo's lightness never shows where a colour ends as exactly.

    python -m benchmarks.hints [FOLDER ...] [--draws 5] [--points pixels|patches] [--routes] [--bound] [--reference-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from benchmarks.hint_routes import BOUND_TOLERANCE, ROUTES, chosen, true_regions
from colorization import metrics
from colorization.composition import compose
from colorization.hints import Hint
from colorization.image_io import READ_EXTENSIONS, read_image
from colorization.pipeline import Colorizer
from colorization.preparation import PreparedImage, split_alpha, to_unit_float
from tests.support.checks import grey_picture

IMAGES_ENV = "COLORIZE_TEST_IMAGES"
DEFAULT_IMAGES = Path(__file__).resolve().parent.parent.parent / "shared" / "images"
COUNTS = (0, 1, 2, 5, 10, 20, 50)
TIMED_COUNTS = (0, 5, 50, 1000)
PREVIEW_SIDE = 1024
FULL_SIZE = (4000, 3000)
EDGE_CONTRASTS = ((35.0, 65.0), (40.0, 55.0))
EDGE_SPLIT = 0.47
EDGE_COLOUR = "#b22222"
PATCH_SIDE = 6 / 256
"""The authors' evaluation reveals the mean colour of 6x6 patches of pictures brought to 256x256."""
BAND_CUTS = (0.3, 0.7)


def colour_photos(folders: list[Path]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, 8-bit BGR, float Lab) of every colour photo; grey ones have nothing to score against."""
    photos = []
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() in READ_EXTENSIONS:
                colour = split_alpha(read_image(path))[0]
                colour = (colour >> 8).astype(np.uint8) if colour.dtype == np.uint16 else colour
                lab = cv2.cvtColor(to_unit_float(colour), cv2.COLOR_BGR2Lab)
                if np.abs(lab[:, :, 1:]).mean() >= 1.0:
                    photos.append((path.name, colour, lab))
    return photos


def hex_colour(bgr) -> str:
    blue, green, red = (int(value) for value in bgr)
    return f"#{red:02x}{green:02x}{blue:02x}"


def oracle_hints(photo: np.ndarray, count: int, seed: int) -> list[Hint]:
    """`count` pixels drawn uniformly (fixed seed), each with the photo's own colour there."""
    height, width = photo.shape[:2]
    random = np.random.default_rng(seed)
    return [
        Hint(int(x), int(y), hex_colour(photo[y, x]))
        for x, y in zip(random.integers(0, width, count), random.integers(0, height, count))
    ]


def patch_hints(photo: np.ndarray, count: int, seed: int) -> list[Hint]:
    """As the authors' own evaluation code draws its points (richzhang/colorization-pytorch): patches PATCH_SIDE of
    the picture's width and height, their corners drawn from a normal around the centre (a quarter of the side its
    standard deviation, kept inside), each hint the mean colour of its patch at the patch's centre (fixed seed)."""
    height, width = photo.shape[:2]
    patch_height, patch_width = max(1, round(height * PATCH_SIDE)), max(1, round(width * PATCH_SIDE))
    random = np.random.default_rng(seed)
    hints = []
    for _ in range(count):
        top, left = (
            int(np.clip(random.normal((side - patch + 1) / 2, (side - patch + 1) / 4), 0, side - patch))
            for side, patch in ((height, patch_height), (width, patch_width))
        )
        patch = to_unit_float(photo[top : top + patch_height, left : left + patch_width])
        mean_lab = cv2.cvtColor(patch, cv2.COLOR_BGR2Lab).reshape(-1, 3).mean(axis=0).reshape(1, 1, 3)
        bgr = cv2.cvtColor(mean_lab.astype(np.float32), cv2.COLOR_Lab2BGR)[0, 0]
        hints.append(Hint(left + patch_width / 2, top + patch_height / 2, hex_colour(np.clip(bgr * 255 + 0.5, 0, 255))))
    return hints


POINT_DRAWS = {"pixels": oracle_hints, "patches": patch_hints}


class Renderer:
    """The web page's way: scores once per photo, then decode with hints and compose as often as asked."""

    def __init__(self, colorizer: Colorizer, route=chosen):
        self.colorizer, self.route = colorizer, route

    def scores(self, image: np.ndarray):
        prepared = self.colorizer.prepare(image)
        return prepared, self.colorizer.predict_scores([prepared])[0]

    def render(self, prepared: PreparedImage, scores, hints, picture_size=None) -> np.ndarray:
        height, width = prepared.lightness.shape
        ab = self.route(
            scores,
            self.colorizer.points,
            self.colorizer.scale,
            prepared.lightness,
            hints,
            picture_size or (width, height),
        )
        return compose(
            prepared,
            np.asarray(ab, np.float32),
            self.colorizer.upsample,
            self.colorizer.saturation,
            self.colorizer.conversion,
        )


def scored(output: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    lab = cv2.cvtColor(to_unit_float(output), cv2.COLOR_BGR2Lab)
    return metrics.psnr(lab[:, :, 1:], truth[:, :, 1:], metrics.AB_PEAK), metrics.colourfulness(
        output.astype(np.float64)
    )


def oracle(renderer: Renderer, photos, draws: int, counts=COUNTS, draw_hints=oracle_hints) -> dict:
    """{photo: {N: (mean PSNR, mean colourfulness, lowest PSNR over the draws)}}."""
    table = {}
    for name, colour, lab in photos:
        prepared, scores = renderer.scores(colour)
        table[name] = {}
        for count in counts:
            results = [
                scored(renderer.render(prepared, scores, draw_hints(colour, count, seed)), lab)
                for seed in range(draws if count else 1)
            ]
            psnrs = [psnr for psnr, _ in results]
            table[name][count] = (float(np.mean(psnrs)), float(np.mean([c for _, c in results])), float(min(psnrs)))
    return table


def print_oracle(table: dict, photos, draws: int, points: str = "pixels") -> None:
    print(
        f"\noracle hints ({points}): ab PSNR (dB) / colourfulness of the result, mean of {draws} draws of the points per N"
    )
    header = f"{'photo':<20} {'truth':>6} " + " ".join(f"{'N=' + str(count):>12}" for count in COUNTS)
    print(header)
    print("-" * len(header))
    truth = {name: metrics.colourfulness(colour.astype(np.float64)) for name, colour, _ in photos}
    for name, row in table.items():
        print(
            f"{name:<20} {truth[name]:6.1f} "
            + " ".join(f"{row[count][0]:6.2f}/{row[count][1]:5.1f}" for count in COUNTS)
        )
    means = [np.mean([row[count][0] for row in table.values()]) for count in COUNTS]
    print(f"{'mean PSNR':<20} {'':>6} " + " ".join(f"{mean:12.2f}" for mean in means))
    print("\ngain over the automatic result at N = 10 (mean of the draws; the worst draw in brackets):")
    for name, row in table.items():
        print(f"  {name:<20} {row[10][0] - row[0][0]:+5.2f} dB ({row[10][2] - row[0][0]:+.2f})")


def banded(levels, cuts, width=640, height=480) -> np.ndarray:
    """A grey picture of vertical bands: lightness levels[i] up to the fraction cuts[i] of the width."""
    lightness = np.full((height, width), levels[-1], np.float32)
    for level, cut in reversed(list(zip(levels, cuts))):
        lightness[:, : int(width * cut)] = level
    return grey_picture(lightness)


def hinted(renderer: Renderer, picture: np.ndarray, x: float) -> tuple[np.ndarray, np.ndarray]:
    """Lab of the picture rendered without hints and with one EDGE_COLOUR hint at (x, 0.5)."""
    prepared, scores = renderer.scores(picture)
    return tuple(
        cv2.cvtColor(to_unit_float(renderer.render(prepared, scores, hints)), cv2.COLOR_BGR2Lab)
        for hints in ([], [Hint(x, 0.5, EDGE_COLOUR, fraction=True)])
    )


def covered_and_moved(before, after, hinted_columns, other_columns, lightness) -> tuple[float, float]:
    """Share of the hinted columns within delta E 10 of the hint's colour at `lightness`; mean ab change elsewhere."""
    wanted = np.concatenate([[lightness], np.array(Hint(0, 0, EDGE_COLOUR).ab, np.float32)])
    covered = (np.linalg.norm(after[:, hinted_columns] - wanted, axis=2) < 10).mean()
    moved = np.linalg.norm(after[:, other_columns, 1:] - before[:, other_columns, 1:], axis=2).mean()
    return float(covered), float(moved)


def edge_respect(renderer: Renderer) -> list[tuple[str, float, float]]:
    """(case, share of the hinted region within delta E 10, mean ab change of another region). The issue's check:
    two regions split by a sharp edge, a hint in either. Beyond it: bands outer | middle | outer, a hint in the left
    outer band, and how far the middle band and the far outer band (the hint's own lightness, but not its region)
    move."""
    rows = []
    for left, right in EDGE_CONTRASTS:
        picture = banded((left, right), (EDGE_SPLIT,))
        cut = int(picture.shape[1] * EDGE_SPLIT)
        for x, inside, other, lightness in (
            (0.2, slice(0, cut), slice(cut, None), left),
            (0.8, slice(cut, None), slice(0, cut), right),
        ):
            side = "dark" if lightness == min(left, right) else "light"
            rows.append(
                (
                    f"L {left:g} | {right:g}, hint in the {side} region",
                    *covered_and_moved(*hinted(renderer, picture, x), inside, other, lightness),
                )
            )
    for outer, middle in EDGE_CONTRASTS:
        picture = banded((outer, middle, outer), BAND_CUTS)
        before, after = hinted(renderer, picture, BAND_CUTS[0] / 2)
        first, second = (int(picture.shape[1] * cut) for cut in BAND_CUTS)
        for name, other in (("the middle band", slice(first, second)), ("the far band", slice(second, None))):
            rows.append(
                (
                    f"bands L {outer:g} | {middle:g} | {outer:g}: {name}",
                    *covered_and_moved(before, after, slice(0, first), other, outer),
                )
            )
    return rows


def print_edges(rows) -> None:
    print(
        f"\nedge respect (a {EDGE_COLOUR} hint; pass: >= 90% of its region covered, the other region moved < 2; "
        "the bands go beyond the issue's check):"
    )
    for case, covered, moved in rows:
        verdict = "pass" if covered >= 0.9 and moved < 2 else "FAIL"
        print(f"  {case:<44} covered {covered:6.1%}   other region moved {moved:5.2f} ab   {verdict}")


def best_time(action, repeat: int) -> tuple[float, float]:
    wall = processor = float("inf")
    for _ in range(repeat):
        started, started_processor = time.perf_counter(), time.process_time()
        action()
        wall, processor = (
            min(wall, time.perf_counter() - started),
            min(processor, time.process_time() - started_processor),
        )
    return wall * 1000, processor * 1000


def render_times(renderer: Renderer, photos, repeat: int, counts=TIMED_COUNTS) -> dict:
    """{(size label, N): (wall ms, CPU ms)} for re-rendering the largest photo brought to 12 MP and its preview."""
    _, colour, _ = max(photos, key=lambda photo: photo[1].size)
    full = renderer.colorizer.prepare(cv2.resize(colour, FULL_SIZE, interpolation=cv2.INTER_CUBIC))
    scores = renderer.colorizer.predict_scores([full])[0]
    factor = PREVIEW_SIDE / max(FULL_SIZE)
    preview_size = (round(FULL_SIZE[0] * factor), round(FULL_SIZE[1] * factor))
    preview = PreparedImage(
        cv2.resize(full.lightness, preview_size, interpolation=cv2.INTER_AREA), None, None, full.dtype
    )
    times = {}
    for count in counts:
        hints = oracle_hints(cv2.resize(colour, FULL_SIZE, interpolation=cv2.INTER_NEAREST), count, 0)
        for label, prepared in (
            (f"{preview_size[0]}x{preview_size[1]} preview", preview),
            (f"{FULL_SIZE[0]}x{FULL_SIZE[1]} full", full),
        ):
            times[label, count] = best_time(
                lambda prepared=prepared, hints=hints: renderer.render(prepared, scores, hints, FULL_SIZE), repeat
            )
        colorizer = renderer.colorizer
        times["decode alone, preview", count] = best_time(
            lambda colorizer=colorizer, hints=hints: renderer.route(
                scores, colorizer.points, colorizer.scale, preview.lightness, hints, FULL_SIZE
            ),
            repeat,
        )
    return times


def print_times(times: dict) -> None:
    print("\nre-render from the kept scores (decode with hints, then compose), best of the repeats, ms wall (ms CPU):")
    labels = list(dict.fromkeys(label for label, _ in times))
    print(f"  {'hints':>6} " + " ".join(f"{label:>24}" for label in labels))
    for count in sorted({count for _, count in times}):
        print(f"  {count:>6} " + " ".join(f"{'{:.0f} ({:.0f})'.format(*times[label, count]):>24}" for label in labels))


def worst_edges(edges) -> list[str]:
    """The compare table's edge cells: for each contrast, worst covered / moved of the two-region cases, then the
    most the middle and far bands moved over the contrasts."""
    cells = []
    for left, _ in EDGE_CONTRASTS:
        cases = [(share, moved) for case, share, moved in edges if case.startswith(f"L {left:g} ")]
        cells.append(f"{min(share for share, _ in cases):4.0%}/{max(moved for _, moved in cases):5.2f}")
    for band in ("middle", "far"):
        cells.append(f"{max(moved for case, _, moved in edges if case.endswith(f'the {band} band')):6.2f}")
    return cells


def compare_routes(colorizer: Colorizer, photos, draws: int, repeat: int, draw_hints=oracle_hints) -> None:
    print(
        f"\nroutes compared (oracle gain over the automatic result, mean of {draws} draws; time: 1024-px preview, 5 hints):"
    )
    print(
        f"  {'route':<48} {'N=10 mean':>9} {'N=10 min':>9} {'worst':>6} {'N=50 mean':>9} {'edge L35|65':>11} {'edge L40|55':>11} "
        f"{'middle':>6} {'far':>6} {'ms':>6}"
    )
    for name, route in ROUTES.items():
        renderer = Renderer(colorizer, route)
        table = oracle(renderer, photos, draws, (0, 10, 50), draw_hints)
        gains = {count: [row[count][0] - row[0][0] for row in table.values()] for count in (10, 50)}
        worst = min(row[10][2] - row[0][0] for row in table.values())
        milliseconds = render_times(renderer, photos, repeat, (5,))
        preview = next(value for (label, _), value in milliseconds.items() if label.endswith(" preview"))[0]
        print(
            f"  {name:<48} {np.mean(gains[10]):+9.2f} {min(gains[10]):+9.2f} {worst:+6.2f} {np.mean(gains[50]):+9.2f} "
            + " ".join(
                f"{cell:>{11 if index < 2 else 6}}" for index, cell in enumerate(worst_edges(edge_respect(renderer)))
            )
            + f" {preview:6.0f}",
            flush=True,
        )
    print(
        "  (min: the least photo's mean gain; worst: the worst single draw on any photo, below 0 where ten hints made\n"
        "  a photo worse than the automatic result; edge: share of the hinted region within delta E 10 / mean ab\n"
        "  change of the other region, worse of the two sides; middle, far: mean ab change of the middle and far\n"
        "  band beside a hinted outer band, worse contrast)"
    )


def region_bound(colorizer: Colorizer, photos, draws: int, chosen_table: dict, draw_hints=oracle_hints) -> None:
    """What perfect regions would give: each hint fills the connected pixels whose TRUE colour is near its own (which
    no picture's lightness shows), the net's colour elsewhere, beside the chosen route's gain from `chosen_table`."""
    print(
        f"\nten oracle hints filling their true-colour regions (connected, within {BOUND_TOLERANCE:g} ab of the hint; "
        f"mean of {draws} draws):"
    )
    for name, colour, lab in photos:
        bound = oracle(
            Renderer(colorizer, true_regions(lab[:, :, 1:])), [(name, colour, lab)], draws, (0, 10), draw_hints
        )
        gains = [row[10][0] - row[0][0] for row in (chosen_table[name], bound[name])]
        print(f"  {name:<20} chosen route {gains[0]:+5.2f} dB   true-colour regions {gains[1]:+5.2f} dB", flush=True)


def main(argv=None) -> int:
    from tests.support.release_model import release_architecture

    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("images", nargs="*", type=Path, help="folders of colour photos besides the shared test images")
    parser.add_argument(
        "--draws", type=int, default=5, help="random draws of the hint points per N (fixed seeds 0, 1, ...)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (the best counts)")
    parser.add_argument("--routes", action="store_true", help="also measure the other routes (slower: Levin's solve)")
    parser.add_argument(
        "--points",
        choices=POINT_DRAWS,
        default="pixels",
        help="oracle points: single pixels drawn uniformly (default), or patches as the authors' evaluation draws them",
    )
    parser.add_argument(
        "--bound", action="store_true", help="also the gain if hints filled their true-colour regions (an upper bound)"
    )
    parser.add_argument("--reference-dir", help="folder of the authentic prototxt and pts_in_hull.npy")
    args = parser.parse_args(argv)
    folders = [Path(os.environ.get(IMAGES_ENV, DEFAULT_IMAGES)), *args.images]
    photos = colour_photos([folder for folder in folders if folder.is_dir()])
    with tempfile.TemporaryDirectory() as work:
        colorizer = Colorizer.load(**release_architecture(Path(work), args.reference_dir), download=False, quiet=True)
        print(
            f"release architecture with RANDOM weights ({colorizer.engine.description}); {len(photos)} colour photos; "
            f"{os.cpu_count()} CPUs. Real weights start higher, leaving less for hints to add."
        )
        renderer = Renderer(colorizer)
        table = oracle(renderer, photos, args.draws, draw_hints=POINT_DRAWS[args.points])
        print_oracle(table, photos, args.draws, args.points)
        print_edges(edge_respect(renderer))
        print_times(render_times(renderer, photos, args.repeat))
        if args.routes:
            compare_routes(colorizer, photos, args.draws, args.repeat, POINT_DRAWS[args.points])
        if args.bound:
            region_bound(colorizer, photos, args.draws, table, POINT_DRAWS[args.points])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
