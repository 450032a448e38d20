#!/usr/bin/env python3
"""Make docs/quality_strip.jpg, the README's picture of --upsample and --saturation, with the pipeline itself.

No real model weights are available where this was made, so instead of the net's prediction the pipeline's compose
stage is given the photo's OWN colour averaged down to the net's 56x56 grid: what a perfect net would predict.
Everything after that (upsampling, saturation, joining with the full-resolution L) is exactly what colorize.py does.

    python -m docs.quality_strip PHOTO [-o docs/quality_strip.jpg]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

from colorization.composition import compose
from colorization.image_io import read_image, write_image
from colorization.preparation import prepare, split_alpha, to_unit_float

LABEL_HEIGHT = 28
SATURATIONS = (0.0, 0.6, 1.0, 1.5, 2.5)


def perfect_prediction(photo: np.ndarray, cells: int = 56) -> np.ndarray:
    lab = cv2.cvtColor(to_unit_float(photo), cv2.COLOR_BGR2Lab)
    return cv2.resize(np.ascontiguousarray(lab[:, :, 1:]), (cells, cells), interpolation=cv2.INTER_AREA)


def labelled(image: np.ndarray, text: str) -> np.ndarray:
    label = np.full((LABEL_HEIGHT, image.shape[1], 3), 255, np.uint8)
    cv2.putText(label, text, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([label, image])


def row(tiles: list[np.ndarray], gap: int = 6) -> np.ndarray:
    spacer = np.full((tiles[0].shape[0], gap, 3), 255, np.uint8)
    parts = [part for tile in tiles for part in (tile, spacer)][:-1]
    return np.hstack(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", type=Path, help="a colour photo")
    parser.add_argument("-o", "--output", type=Path, default=Path(__file__).resolve().parent / "quality_strip.jpg")
    parser.add_argument(
        "--crop", type=int, nargs=4, metavar=("X", "Y", "W", "H"), help="region shown enlarged in the upsampling row"
    )
    args = parser.parse_args(argv)
    photo, _ = split_alpha(read_image(args.photo))
    prepared = prepare(photo)
    ab = perfect_prediction(photo)
    height, width = photo.shape[:2]
    x, y, crop_width, crop_height = args.crop or (width // 4, height // 4, width // 4, height // 4)
    zoom = 2

    def enlarged(image):
        crop = image[y : y + crop_height, x : x + crop_width]
        return cv2.resize(crop, (crop_width * zoom, crop_height * zoom), interpolation=cv2.INTER_NEAREST)

    upsampling = row(
        [
            labelled(enlarged(photo), "original (ground truth)"),
            labelled(enlarged(compose(prepared, ab, "bilinear")), "--upsample bilinear"),
            labelled(enlarged(compose(prepared, ab, "guided")), "--upsample guided"),
        ]
    )
    thumb_width = (upsampling.shape[1] - 6 * (len(SATURATIONS) - 1)) // len(SATURATIONS)
    thumb_height = round(height * thumb_width / width)
    saturation = row(
        [
            labelled(
                cv2.resize(
                    compose(prepared, ab, "guided", factor), (thumb_width, thumb_height), interpolation=cv2.INTER_AREA
                ),
                f"--saturation {factor:g}",
            )
            for factor in SATURATIONS
        ]
    )
    saturation = np.hstack(
        [saturation, np.full((saturation.shape[0], upsampling.shape[1] - saturation.shape[1], 3), 255, np.uint8)]
    )
    strip = np.vstack([upsampling, np.full((10, upsampling.shape[1], 3), 255, np.uint8), saturation])
    write_image(args.output, strip)
    print(f"wrote {args.output} ({strip.shape[1]}x{strip.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
