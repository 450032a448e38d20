"""A miniature release net and helpers to run it through each engine and to read its compiled graph."""

from __future__ import annotations

import numpy as np
import onnx

from colorization import Colorizer, ModelFiles, compiled_models

ONNX_ENGINES = ["onnx", "onnxruntime"]

MINI_PROTOTXT = """name: "mini_colorization"
layer { name: "data_l" type: "Input" top: "data_l" input_param { shape { dim: 1 dim: 1 dim: 64 dim: 64 } } }
layer { name: "conv1" type: "Convolution" bottom: "data_l" top: "conv1" convolution_param { num_output: 8 kernel_size: 3 pad: 1 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2" convolution_param { num_output: 16 kernel_size: 3 pad: 1 stride: 2 } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "conv2norm" type: "BatchNorm" bottom: "conv2" top: "conv2norm" batch_norm_param { } }
layer { name: "conv3" type: "Convolution" bottom: "conv2norm" top: "conv3" convolution_param { num_output: 16 kernel_size: 3 pad: 1 stride: 2 } }
layer { name: "relu3" type: "ReLU" bottom: "conv3" top: "conv3" }
layer { name: "conv4_1" type: "Convolution" bottom: "conv3" top: "conv4_1"
        convolution_param { num_output: 16 kernel_size: 3 pad: 2 dilation: 2 } }
layer { name: "relu4_1" type: "ReLU" bottom: "conv4_1" top: "conv4_1" }
layer { name: "conv4_2" type: "Convolution" bottom: "conv4_1" top: "conv4_2"
        convolution_param { num_output: 16 kernel_size: 3 pad: 2 dilation: 2 } }
layer { name: "relu4_2" type: "ReLU" bottom: "conv4_2" top: "conv4_2" }
layer { name: "conv4_2norm" type: "BatchNorm" bottom: "conv4_2" top: "conv4_2norm" batch_norm_param { } }
layer { name: "conv4_scale" type: "Scale" bottom: "conv4_2norm" top: "conv4_scaled" scale_param { bias_term: true } }
layer { name: "conv5" type: "Convolution" bottom: "conv4_scaled" top: "conv5" convolution_param { num_output: 16 kernel_size: 3 pad: 1 } }
layer { name: "relu5" type: "ReLU" bottom: "conv5" top: "conv5" relu_param { negative_slope: 0.1 } }
layer { name: "conv8_1" type: "Deconvolution" bottom: "conv5" top: "conv8_1"
        convolution_param { num_output: 16 kernel_size: 4 pad: 1 stride: 2 } }
layer { name: "relu8_1" type: "ReLU" bottom: "conv8_1" top: "conv8_1" }
layer { name: "conv8_313" type: "Convolution" bottom: "conv8_1" top: "conv8_313" convolution_param { num_output: 313 kernel_size: 1 } }
layer { name: "conv8_313_rh" type: "Scale" bottom: "conv8_313" top: "conv8_313_rh" scale_param { bias_term: false } }
layer { name: "class8_313_rh" type: "Softmax" bottom: "conv8_313_rh" top: "class8_313_rh" }
layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh" top: "class8_ab" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "Silence" type: "Silence" bottom: "class8_ab" }
"""
"""The release net in miniature, with every layer kind the converter translates: dilated convolutions in a row
(with ReLU between and BatchNorm after), a Scale with bias, a leaky ReLU, the deconvolution and the decoding head."""


def forward(model: dict, engine: str, size: int, blob: np.ndarray, temperature=None) -> np.ndarray:
    return Colorizer.load(**model, engine=engine, size=size, temperature=temperature).engine.forward(blob)


def lightness_blob(size: int, count: int = 2, seed: int = 0) -> np.ndarray:
    """Smooth random L - 50, like a photo's rather than noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-50, 50, (count, 1, size // 8, size // 8)).astype(np.float32)
    return np.kron(coarse, np.ones((8, 8), np.float32))


def compiled_graph(model: dict, size: int, temperature=None) -> onnx.GraphProto:
    files = ModelFiles.resolve(**model)
    scale = 2.606 if temperature is None else 1 / temperature
    return onnx.load(str(compiled_models.compiled_model(files, scale, size))).graph
