"""The release architecture with random weights: the real model's compute cost, without the 129 MB download.

The release network is a set of facts (Zhang et al., ECCV 2016, colorization_deploy_v2.prototxt): eight blocks of
3x3 convolutions with the widths, strides and dilations below, a BatchNorm after each of the first seven, a
deconvolution that doubles the grid, the 313-bin head, the annealing scale 2.606, the softmax and the decoding
convolution. The test support writes that prototxt from these facts, and 313 ab cluster centres of the release's
kind (10-unit bins of the sRGB gamut), so the full-architecture tests and benchmarks run in any clone. With
COLORIZE_REFERENCE_DIR set to a folder holding the authentic files, those are used instead; a test checks that the
written prototxt is the authentic one, layer for layer.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from colorization.model import CLUSTER_COUNT, RELEASE_SCALE

from . import REFERENCE_ENV
from .caffe_writer import write_random_caffemodel

PROTOTXT_NAME, POINTS_NAME = "colorization_deploy_v2.prototxt", "pts_in_hull.npy"

CONVOLUTION_BLOCKS = (
    # (block, output channels, stride of its last convolution, dilation, convolutions)
    (1, 64, 2, 1, 2),
    (2, 128, 2, 1, 2),
    (3, 256, 2, 1, 3),
    (4, 512, 1, 1, 3),
    (5, 512, 1, 2, 3),
    (6, 512, 1, 2, 3),
    (7, 512, 1, 1, 3),
)
"""conv1 to conv7: 3x3 convolutions padded by their dilation, each followed by a ReLU; the block's last one strides
and is followed by a BatchNorm (named convN_Mnorm). The very first convolution is named bw_conv1_1 (its top conv1_1)."""
DECONVOLUTION = {"num_output": 256, "kernel_size": 4, "pad": 1, "stride": 2}
"""conv8_1: back up from 28x28 to 56x56, then conv8_2 and conv8_3 (3x3, 256) without a BatchNorm."""
AB_BIN = 10
"""The release quantises ab into 10x10 bins and keeps the 313 that hold colours (the sRGB gamut)."""
FOOTPRINT_REACH = 150
"""a and b of every sRGB colour lie within +-150."""


def layer(name: str, kind: str, bottom: str | None, top: str | None, body: str = "") -> str:
    lines = [f'  name: "{name}"', f'  type: "{kind}"']
    lines += [f'  bottom: "{bottom}"'] if bottom else []
    lines += [f'  top: "{top}"'] if top else []
    return "layer {\n" + "\n".join(lines) + ("\n" + body if body else "") + "\n}\n"


def convolution(name: str, bottom: str, top: str, kind: str = "Convolution", **parameters) -> str:
    body = "".join(f"    {key}: {value}\n" for key, value in parameters.items())
    return layer(name, kind, bottom, top, "  convolution_param {\n" + body + "  }")


def relu(top: str) -> str:
    return layer(top.replace("conv", "relu"), "ReLU", top, top)


def release_prototxt_text() -> str:
    """colorization_deploy_v2.prototxt written from the facts above (same layers, names, shapes and parameters)."""
    text = 'name: "LtoAB"\n\n' + layer(
        "data_l", "Input", None, "data_l", "  input_param {\n    shape { dim: 1 dim: 1 dim: 224 dim: 224 }\n  }"
    )
    bottom = "data_l"
    for block, channels, stride, dilation, count in CONVOLUTION_BLOCKS:
        for index in range(1, count + 1):
            top = f"conv{block}_{index}"
            name = "bw_conv1_1" if top == "conv1_1" else top
            strides = {"stride": stride} if index == count and stride != 1 else {}
            text += convolution(
                name, bottom, top, num_output=channels, pad=dilation, kernel_size=3, **strides, dilation=dilation
            )
            text += relu(top)
            bottom = top
        norm = f"{bottom}norm"
        frozen = "  param {lr_mult: 0 decay_mult: 0}\n" * 3
        text += layer(norm, "BatchNorm", bottom, norm, "  batch_norm_param { }\n" + frozen.rstrip("\n"))
        bottom = norm
    text += convolution("conv8_1", bottom, "conv8_1", "Deconvolution", **DECONVOLUTION) + relu("conv8_1")
    for top in ("conv8_2", "conv8_3"):
        text += convolution(
            top, "conv8_1" if top == "conv8_2" else "conv8_2", top, num_output=256, pad=1, kernel_size=3
        )
        text += relu(top)
    text += convolution("conv8_313", "conv8_3", "conv8_313", num_output=CLUSTER_COUNT, kernel_size=1)
    text += layer(
        "conv8_313_rh",
        "Scale",
        "conv8_313",
        "conv8_313_rh",
        f"  scale_param {{\n    bias_term: false\n    filler {{ type: 'constant' value: {RELEASE_SCALE} }}\n  }}",
    )
    text += layer("class8_313_rh", "Softmax", "conv8_313_rh", "class8_313_rh")
    text += convolution("class8_ab", "class8_313_rh", "class8_ab", num_output=2, kernel_size=1)
    return text + layer("Silence", "Silence", "class8_ab", None)


def gamut_ab_bins(count: int = CLUSTER_COUNT) -> np.ndarray:
    """`count` ab bin centres on the 10-unit grid: those inside, or nearest, the sRGB gamut's footprint in ab (every
    colour of the RGB cube converted to Lab, drawn on a 1-unit raster), in the release's order (by a, then b) and
    type (int64)."""
    levels = np.linspace(0, 1, 65, dtype=np.float32)
    cube = np.stack(np.meshgrid(levels, levels, levels), -1).reshape(-1, 1, 3)
    a, b = np.round(cv2.cvtColor(cube, cv2.COLOR_BGR2Lab).reshape(-1, 3)[:, 1:] + FOOTPRINT_REACH).astype(np.intp).T
    footprint = np.zeros((2 * FOOTPRINT_REACH, 2 * FOOTPRINT_REACH), np.uint8)
    footprint[b, a] = 1
    footprint = cv2.morphologyEx(footprint, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
    distance = cv2.distanceTransform(1 - footprint, cv2.DIST_L2, 5)
    grid = [(a, b) for a in range(-130, 131, AB_BIN) for b in range(-130, 131, AB_BIN)]
    ranked = sorted(
        grid, key=lambda ab: (distance[ab[1] + FOOTPRINT_REACH, ab[0] + FOOTPRINT_REACH], abs(ab[0]) + abs(ab[1]))
    )
    return np.array(sorted(ranked[:count]), np.int64)


def write_release_files(folder: Path) -> dict:
    """The release-shaped prototxt and points, written once into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    prototxt, points = folder / PROTOTXT_NAME, folder / POINTS_NAME
    if not prototxt.is_file():
        prototxt.write_text(release_prototxt_text())
    if not points.is_file():
        np.save(points, gamut_ab_bins())
    return {"prototxt": prototxt, "points": points}


def reference_files(reference_dir: str | os.PathLike | None = None) -> dict | None:
    """The authentic prototxt and points from `reference_dir` or COLORIZE_REFERENCE_DIR, None when not there."""
    folder = reference_dir or os.environ.get(REFERENCE_ENV)
    if not folder:
        return None
    files = {"prototxt": Path(folder) / PROTOTXT_NAME, "points": Path(folder) / POINTS_NAME}
    return files if all(path.is_file() for path in files.values()) else None


def release_architecture(work_dir: Path, reference_dir: str | os.PathLike | None = None, seed: int = 2016) -> dict:
    """Paths of the release prototxt and points (the authentic ones when a reference folder is given or set, else
    written from the facts) plus a random-weight caffemodel of the release's shapes, written once into work_dir."""
    work_dir = Path(work_dir)
    if reference_dir is not None and reference_files(reference_dir) is None:
        raise FileNotFoundError(f"no {PROTOTXT_NAME} and {POINTS_NAME} in {reference_dir}")
    files = reference_files(reference_dir) or write_release_files(work_dir / "release-shaped")
    caffemodel = work_dir / f"random_release_{seed}.caffemodel"
    if not caffemodel.is_file():
        work_dir.mkdir(parents=True, exist_ok=True)
        write_random_caffemodel(files["prototxt"], caffemodel, seed=seed)
    return {"prototxt": files["prototxt"], "caffemodel": caffemodel, "points": files["points"]}
