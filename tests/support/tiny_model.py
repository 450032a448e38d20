"""A tiny colorization model written as a real prototxt + binary .caffemodel, so tests go through readNetFromCaffe.

It keeps the release's interface: input `data_l` (L - 50), a 313-bin head `conv8_313`, the annealing scale
`conv8_313_rh`, the softmax and the annealed-mean decoder `class8_ab`, and an output a quarter of the input size.
Each bin's logit is `slope[k] * mean(L - 50 over a 4x4 patch) + bias[k]`, which makes the output predictable.
Before the head, a BatchNorm stored as a trained Caffe file stores it (running sums and a moving-average factor far
from 1) and a Scale layer with bias undo each other exactly: a reader that mishandles either changes the colours.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .caffe_writer import batch_norm_sums, write_caffemodel

PROTOTXT = """name: "tiny_colorization"
layer { name: "data_l" type: "Input" top: "data_l" input_param { shape { dim: 1 dim: 1 dim: 224 dim: 224 } } }
layer { name: "data_l_norm" type: "BatchNorm" bottom: "data_l" top: "data_l_norm" }
layer { name: "data_l_scale" type: "Scale" bottom: "data_l_norm" top: "data_l_scaled" scale_param { bias_term: true } }
layer { name: "conv8_313" type: "Convolution" bottom: "data_l_scaled" top: "conv8_313"
        convolution_param { num_output: 313 kernel_size: 4 stride: 4 } }
layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh" scale_param { bias_term: false } }
layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }
layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab"
        convolution_param { num_output: 2 kernel_size: 1 bias_term: false } }
"""

NORM_MEAN, NORM_VARIANCE = 3.0, 4.0
BATCH_NORM_EPSILON = 1e-5
"""Caffe's default eps, which the Scale layer's factor takes into account so that the pair is the identity."""


def write_tiny_model(directory: Path, bias: np.ndarray, points: np.ndarray, slope: np.ndarray | None = None) -> dict:
    """Write tiny.prototxt, tiny.caffemodel and points.npy into `directory`; return them as Colorizer keywords."""
    directory.mkdir(parents=True, exist_ok=True)
    slope = np.zeros(313, np.float32) if slope is None else slope
    weights = np.repeat((np.asarray(slope, np.float32) / 16.0)[:, None], 16, axis=1).reshape(313, 1, 4, 4)
    files = {
        "prototxt": directory / "tiny.prototxt",
        "caffemodel": directory / "tiny.caffemodel",
        "points": directory / "points.npy",
    }
    files["prototxt"].write_text(PROTOTXT)
    write_caffemodel(
        files["caffemodel"],
        [
            ("data_l_norm", "BatchNorm", batch_norm_sums(np.array([NORM_MEAN]), np.array([NORM_VARIANCE]))),
            (
                "data_l_scale",
                "Scale",
                [np.sqrt([NORM_VARIANCE + BATCH_NORM_EPSILON]).astype(np.float32), np.array([NORM_MEAN], np.float32)],
            ),
            ("conv8_313", "Convolution", [weights, np.asarray(bias, np.float32)]),
            ("conv8_313_rh", "Scale", [np.ones(313, np.float32)]),
            ("class8_ab", "Convolution", [np.zeros((2, 313, 1, 1), np.float32)]),
        ],
        net_name="tiny_colorization",
    )
    np.save(files["points"], points)
    return files


def model_arguments(files: dict) -> list[str]:
    """The same model as command-line options."""
    return [argument for key, path in files.items() for argument in (f"--{key}", str(path))]


def symmetric_points() -> np.ndarray:
    """313 ab points made of (0, 0) and 156 pairs p, -p: a symmetric distribution over them decodes to grey."""
    rng = np.random.default_rng(7)
    half = rng.integers(-100, 100, size=(156, 2))
    return np.concatenate([[[0, 0]], half, -half]).astype(np.int64)


def colorize_with_caffe(source, written, model: dict, *options: str) -> int:
    """`colorize.py -i SOURCE -o WRITTEN --engine caffe -q OPTIONS` with `model`'s files: the exit code."""
    from colorization.commands import colorize

    return colorize.main(
        ["-i", str(source), "-o", str(written), "--engine", "caffe", "-q", *options, *model_arguments(model)]
    )
