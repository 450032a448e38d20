"""The Caffe colorization net translated to one ONNX graph: faster in cv2.dnn, runnable by ONNX Runtime, and loadable
by OpenCV 5, which has no Caffe importer.

The graph is the Caffe net with the annealing scale 1/T and the annealed-mean decoding (the cluster centres as a
1x1 convolution) baked in, for one input size; it has two outputs, the ab (`class8_ab`) and the raw 313-bin scores
(`conv8_313`) for callers that decode again at other temperatures. Each 3x3 convolution of dilation 2 on an
even-sized map is rewritten as an ordinary 3x3 convolution over the four half-size phase images of the map, tiled
2x2 in one map with a zero row and column between them (29x29 for the release's 28x28): mathematically identical,
but the runtimes' fast kernels (OpenCV's Winograd among them) are for dilation 1, and in the release net these six
layers were most of the cost. Tiled in one map rather than stacked as four images, they suit OpenCV's 6x6 Winograd
tiles. Consecutive rewritten layers stay tiled in between.

The softmax is not normalised over its 313 channels: the annealed mean is a ratio of two sums of the exponentials
(weighted by the cluster centres, and plain), so the 1x1 decoding computes both and only 2 channels are divided.
"""

from __future__ import annotations

import logging
from dataclasses import replace

import numpy as np

from .caffe_format import first
from .errors import ColorizationError, ModelFileError
from .model import OUTPUT_LAYER, SCALE_LAYER, SCORES_LAYER
from .onnx_graph import GraphBuilder, Tensor

log = logging.getLogger(__name__)

OPSET = 13
IR_VERSION = 8
"""IR 8 with opset 13: read by every ONNX Runtime since 1.10 and by OpenCV 4.x and 5.x."""


class ConversionError(ColorizationError):
    """The network uses something this converter does not translate (a custom network), or it cannot run here."""


def spatial(params: dict, field: str, separate: str, default: int) -> tuple[int, int]:
    """A Caffe (height, width) parameter given as one or two repeated values, or as FIELD_h / FIELD_w."""
    values = params.get(field, [])
    if f"{separate}_h" in params or f"{separate}_w" in params:
        return int(first(params, f"{separate}_h", default)), int(first(params, f"{separate}_w", default))
    if not values:
        return default, default
    return int(values[0]), int(values[1] if len(values) > 1 else values[0])


def geometry(params: dict) -> tuple:
    """(outputs, group, kernel, pad, stride, dilation) of a Caffe convolution_param, with Caffe's defaults."""
    if first(params, "num_output") is None:
        raise ModelFileError("a Convolution layer of the prototxt has no num_output (misspelt?): check the prototxt")
    return (
        int(first(params, "num_output")),
        int(first(params, "group", 1)),
        spatial(params, "kernel_size", "kernel", 1),
        spatial(params, "pad", "pad", 0),
        spatial(params, "stride", "stride", 1),
        spatial(params, "dilation", "dilation", 1),
    )


def fitted(blob: np.ndarray, shape: tuple[int, ...], layer: str, what: str) -> np.ndarray:
    """A stored blob in the shape the layer needs; legacy 4-D blobs (1, 1, 1, C) hold the same values."""
    if blob.size != int(np.prod(shape)):
        raise ModelFileError(
            f"the caffemodel's {what} of layer {layer!r} has shape {blob.shape}, the prototxt needs {shape}: "
            "check the caffemodel belongs to this prototxt"
        )
    return np.ascontiguousarray(blob.reshape(shape), dtype=np.float32)


class Converter:
    """One parsed prototxt with its weights, translated layer by layer into a GraphBuilder."""

    def __init__(self, weights: dict[str, list[np.ndarray]], points: np.ndarray, scale: float, size: int):
        self.weights = weights
        self.points = points
        self.annealing_scale = scale
        self.size = size
        self.graph = GraphBuilder()
        self.blobs: dict[str, Tensor] = {}
        self.input: Tensor | None = None

    def blobs_of(self, layer: str, count: int) -> list[np.ndarray]:
        blobs = self.weights.get(layer)
        if not blobs or len(blobs) < count:
            raise ModelFileError(
                f"the caffemodel has no weights for layer {layer!r}: check it belongs to this prototxt"
            )
        return blobs

    def add_input(self, name: str, dims: list) -> None:
        channels = int(dims[1]) if len(dims) > 1 else 1
        self.graph.names.add(name)
        self.input = Tensor(name, channels, self.size, self.size)
        self.blobs[name] = self.input

    def convert(self, net: dict):
        from onnx import TensorProto, helper

        declared_shapes = [shape.get("dim", []) for shape in net.get("input_shape", [])] or [net.get("input_dim", [])]
        for name, dims in zip(net.get("input", []), declared_shapes):
            self.add_input(name, dims)
        output = None
        for layer in net.get("layer", []):
            output = self.convert_layer(layer)
            if output is not None:
                break
        if output is None:
            raise ModelFileError(f"the prototxt has no layer {OUTPUT_LAYER!r}: it is not a colorization model prototxt")
        if self.input is None:
            raise ConversionError("the ONNX converter finds no input in the prototxt")
        if SCORES_LAYER not in self.blobs:
            raise ModelFileError(f"the prototxt has no layer {SCORES_LAYER!r}: it is not a colorization model prototxt")
        outputs = [
            self.graph.output(self.graph.to_ordinary(tensor), name)
            for tensor, name in ((output, OUTPUT_LAYER), (self.blobs[SCORES_LAYER], SCORES_LAYER))
        ]
        input_shape: list[str | int] = ["batch", self.input.channels, self.size, self.size]
        graph = helper.make_graph(
            self.graph.nodes,
            "colorization",
            [helper.make_tensor_value_info(self.input.name, TensorProto.FLOAT, input_shape)],
            [
                helper.make_tensor_value_info(
                    tensor.name, TensorProto.FLOAT, ["batch", tensor.channels, tensor.height, tensor.width]
                )
                for tensor in outputs
            ],
        )
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION, producer_name="colorization"
        )
        self.graph.move_initializers(model)
        return model

    def convert_layer(self, layer: dict) -> Tensor | None:
        """Translate one layer; return the output tensor once the decoding layer is reached."""
        name, kind = first(layer, "name"), first(layer, "type")
        bottoms, tops = layer.get("bottom", []), layer.get("top", [])
        if kind == "Input":
            self.add_input(tops[0], first(first(layer, "input_param", {}), "shape", {}).get("dim", []))
            return None
        if kind == "Silence":
            return None
        if kind not in LAYER_CONVERTERS:
            raise ConversionError(f"the ONNX converter does not translate layer {name!r} of type {kind}")
        if len(bottoms) != 1 or len(tops) != 1 or bottoms[0] not in self.blobs:
            raise ConversionError(f"the ONNX converter translates only one-input, one-output layers, not {name!r}")
        tensor = self.blobs[bottoms[0]]
        if tensor.unnormalised and name != OUTPUT_LAYER:
            tensor = self.normalised(tensor)
        output = LAYER_CONVERTERS[kind](self, name, layer, tensor)
        self.blobs[tops[0]] = output
        return output if name == OUTPUT_LAYER else None

    def convolution(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        params = first(layer, "convolution_param", {})
        outputs, group, kernel, pad, stride, dilation = geometry(params)
        if name == OUTPUT_LAYER:
            return self.annealed_mean(name, tensor)
        blobs = self.blobs_of(name, 1)
        weights = fitted(blobs[0], (outputs, tensor.channels // group, *kernel), name, "weights")
        has_bias = first(params, "bias_term", True) and len(blobs) > 1
        bias = fitted(blobs[1], (outputs,), name, "bias") if has_bias else None
        height = (tensor.height + 2 * pad[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
        width = (tensor.width + 2 * pad[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
        block = dilation[0]
        phase_form = (
            block > 1
            and dilation[0] == dilation[1]
            and kernel[0] == kernel[1]
            and stride == (1, 1)
            and all(k % 2 for k in kernel)
            and pad == (block * (kernel[0] - 1) // 2, block * (kernel[1] - 1) // 2)
            and tensor.height % block == 0
            and tensor.width % block == 0
        )
        if phase_form:
            gutter = (kernel[0] - 1) // 2
            if (tensor.block, tensor.gutter) == (block, gutter):
                tensor = self.graph.with_zero_gutters(tensor)
            else:
                tensor = self.graph.to_grid(tensor, block, gutter)
            pad, dilation = (gutter, gutter), (1, 1)
        else:
            if block > 1:
                log.info(
                    "layer %s keeps its dilated convolution (its %dx%d map does not split evenly)",
                    name,
                    tensor.height,
                    tensor.width,
                )
            tensor = self.graph.to_ordinary(tensor)
        output = self.filter_node("Conv", name, tensor, weights, bias, (kernel, pad, stride, dilation, group))
        return Tensor(output, outputs, height, width, tensor.block, tensor.gutter)

    def annealed_mean(self, name: str, tensor: Tensor) -> Tensor:
        """The decoding the OpenCV sample installs: a 1x1 convolution with the cluster centres as weights, no bias.
        On unnormalised exponentials a third output channel sums them, and the two ab sums are divided by it."""
        centres = self.points.T.astype(np.float32)
        if not tensor.unnormalised:
            weights = self.graph.constant(f"{name}_weights", centres.reshape(*centres.shape, 1, 1))
            return Tensor(
                self.graph.node("Conv", [tensor.name, weights], name, kernel_shape=[1, 1]),
                2,
                tensor.height,
                tensor.width,
                tensor.block,
                tensor.gutter,
            )
        centres_and_ones = np.concatenate([centres, np.ones((1, centres.shape[1]), np.float32)])
        weights = self.graph.constant(f"{name}_weights", centres_and_ones.reshape(*centres_and_ones.shape, 1, 1))
        sums = self.graph.node("Conv", [tensor.name, weights], f"{name}_sums", kernel_shape=[1, 1])
        weighted = self.graph.slice(sums, [0], [2], [1], f"{name}_weighted")
        total = self.graph.slice(sums, [2], [3], [1], f"{name}_total")
        return Tensor(
            self.graph.node("Div", [weighted, total], name), 2, tensor.height, tensor.width, tensor.block, tensor.gutter
        )

    def normalised(self, tensor: Tensor) -> Tensor:
        """The softmax completed, for a layer other than the decoding that takes it."""
        total = self.graph.node(
            "ReduceSum",
            [tensor.name, self.graph.constant("channel_axis", np.array([1], np.int64))],
            f"{tensor.name}_total",
            keepdims=1,
        )
        return replace(
            tensor, name=self.graph.node("Div", [tensor.name, total], f"{tensor.name}_normalised"), unnormalised=False
        )

    def filter_node(self, operator: str, name: str, tensor: Tensor, weights, bias, shape: tuple) -> str:
        """A Conv or ConvTranspose node with its weights (and bias) as constants; `shape` is the layer's kernel,
        padding, stride, dilation and group."""
        kernel, pad, stride, dilation, group = shape
        inputs = [tensor.name, self.graph.constant(f"{name}_weights", weights)]
        if bias is not None:
            inputs.append(self.graph.constant(f"{name}_bias", bias))
        return self.graph.node(
            operator,
            inputs,
            name,
            kernel_shape=list(kernel),
            pads=[pad[0], pad[1], pad[0], pad[1]],
            strides=list(stride),
            dilations=list(dilation),
            group=group,
        )

    def deconvolution(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        params = first(layer, "convolution_param", {})
        outputs, group, kernel, pad, stride, dilation = geometry(params)
        tensor = self.graph.to_ordinary(tensor)
        blobs = self.blobs_of(name, 1)
        weights = fitted(blobs[0], (tensor.channels, outputs // group, *kernel), name, "weights")
        bias = (
            fitted(blobs[1], (outputs,), name, "bias") if first(params, "bias_term", True) and len(blobs) > 1 else None
        )
        output = self.filter_node("ConvTranspose", name, tensor, weights, bias, (kernel, pad, stride, dilation, group))
        height = (tensor.height - 1) * stride[0] - 2 * pad[0] + dilation[0] * (kernel[0] - 1) + 1
        width = (tensor.width - 1) * stride[1] - 2 * pad[1] + dilation[1] * (kernel[1] - 1) + 1
        return Tensor(output, outputs, height, width)

    def relu(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        slope = float(first(first(layer, "relu_param", {}), "negative_slope", 0.0))
        if slope:
            return replace(tensor, name=self.graph.node("LeakyRelu", [tensor.name], name, alpha=slope))
        return replace(tensor, name=self.graph.node("Relu", [tensor.name], name))

    def batch_norm(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        """Caffe keeps running sums and their weight; the statistics are the sums divided by it (0 stays 0)."""
        blobs = self.blobs_of(name, 3)
        channels = (tensor.channels,)
        factor = np.float32(blobs[2].ravel()[0])
        factor = np.float32(0) if factor == 0 else np.float32(1) / factor
        mean = fitted(blobs[0], channels, name, "mean") * factor
        variance = fitted(blobs[1], channels, name, "variance") * factor
        epsilon = float(first(first(layer, "batch_norm_param", {}), "eps", 1e-5))
        inputs = [
            tensor.name,
            self.graph.constant(f"{name}_scale", np.ones(channels, np.float32)),
            self.graph.constant(f"{name}_bias", np.zeros(channels, np.float32)),
            self.graph.constant(f"{name}_mean", mean),
            self.graph.constant(f"{name}_variance", variance),
        ]
        return replace(tensor, name=self.graph.node("BatchNormalization", inputs, name, epsilon=epsilon))

    def scale(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        if name == SCALE_LAYER:
            factor = self.graph.constant(f"{name}_annealing", np.array(self.annealing_scale, np.float32))
            return replace(tensor, name=self.graph.node("Mul", [tensor.name, factor], name))
        blobs = self.blobs_of(name, 1)
        shape = (1, tensor.channels, 1, 1)
        factor = self.graph.constant(f"{name}_scale", fitted(blobs[0], shape, name, "scale"))
        scaled = self.graph.node("Mul", [tensor.name, factor], f"{name}_mul")
        if first(first(layer, "scale_param", {}), "bias_term", False) and len(blobs) > 1:
            bias = self.graph.constant(f"{name}_bias", fitted(blobs[1], shape, name, "bias"))
            return replace(tensor, name=self.graph.node("Add", [scaled, bias], name))
        return replace(tensor, name=scaled)

    def softmax(self, name: str, layer: dict, tensor: Tensor) -> Tensor:
        axis = int(first(first(layer, "softmax_param", {}), "axis", 1))
        if axis != 1:
            raise ConversionError(
                f"the ONNX converter translates softmax over channels only, not over axis {axis} ({name!r})"
            )
        largest = self.graph.node("ReduceMax", [tensor.name], f"{name}_largest", axes=[1], keepdims=1)
        shifted = self.graph.node("Sub", [tensor.name, largest], f"{name}_shifted")
        return replace(tensor, name=self.graph.node("Exp", [shifted], name), unnormalised=True)


LAYER_CONVERTERS = {
    "Convolution": Converter.convolution,
    "Deconvolution": Converter.deconvolution,
    "ReLU": Converter.relu,
    "BatchNorm": Converter.batch_norm,
    "Scale": Converter.scale,
    "Softmax": Converter.softmax,
}
"""Each translation keeps the phase layout where the layer acts per pixel (ReLU, BatchNorm, Scale, Softmax)."""


def convert(net: dict, weights: dict[str, list[np.ndarray]], points: np.ndarray, scale: float, size: int):
    """The ONNX model (an onnx.ModelProto) of a parsed colorization prototxt and its weights, for size x size input."""
    return Converter(weights, points, scale, size).convert(net)
