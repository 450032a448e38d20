"""Writing real .caffemodel files (binary Caffe NetParameter) with weights of our own, shaped like trained ones: the
released weights cannot be committed or downloaded everywhere, and every reader and converter must see what the
release file would show them (BatchNorm running sums with their moving-average factor, Scale layers with bias)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from colorization.caffe_format import first, parse_prototxt
from colorization.model import SCALE_LAYER


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def length_delimited(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def encode_blob(array: np.ndarray) -> bytes:
    """BlobProto: shape (field 7, a BlobShape of packed int64 dims) and packed float data (field 5)."""
    dims = b"".join(varint(int(d)) for d in array.shape)
    shape = length_delimited(1, dims)
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return length_delimited(7, shape) + length_delimited(5, data)


def encode_layer(name: str, layer_type: str, blobs: list[np.ndarray]) -> bytes:
    """LayerParameter: name (1), type (2), blobs (7); OpenCV matches weights to the prototxt by layer name."""
    payload = length_delimited(1, name.encode()) + length_delimited(2, layer_type.encode())
    payload += b"".join(length_delimited(7, encode_blob(blob)) for blob in blobs)
    return payload


def write_caffemodel(path: Path, layers: list[tuple[str, str, list[np.ndarray]]], net_name: str = "") -> None:
    """Write a binary NetParameter whose `layer` (field 100) entries carry the given weights."""
    with open(path, "wb") as handle:
        if net_name:
            handle.write(length_delimited(1, net_name.encode()))
        for name, layer_type, blobs in layers:
            handle.write(length_delimited(100, encode_layer(name, layer_type, blobs)))


INPUT_RANGE = 50.0
MOVING_AVERAGE_FACTOR = 999.982
"""What a trained Caffe file stores beside the BatchNorm running sums (1 / (1 - 0.999) after many iterations, not
exactly): statistics are the sums divided by it, so a reader that forgets the division gives wrong colours."""


def batch_norm_sums(mean: np.ndarray, variance: np.ndarray) -> list[np.ndarray]:
    """A BatchNorm layer's three blobs as Caffe trains them: running sums of mean and variance, and their weight."""
    factor = np.float32(MOVING_AVERAGE_FACTOR)
    return [(mean * factor).astype(np.float32), (variance * factor).astype(np.float32), np.array([factor], np.float32)]


def random_weights(prototxt_text: str, seed: int = 0) -> list[tuple[str, str, list[np.ndarray]]]:
    """Weights of the right shape for every layer of a prototxt, He-initialised (the first layer scaled for
    inputs of +-50) so the 313-bin logits are of order one and the softmax is neither flat nor one-hot.

    With the release prototxt this gives a network of exactly the release's compute cost, for benchmarks and tests.
    """
    net = parse_prototxt(prototxt_text)
    rng = np.random.default_rng(seed)
    channels: dict[str, int] = {}
    inputs: set[str] = set()
    layers = []
    for layer in net.get("layer", []):
        name, layer_type = first(layer, "name"), first(layer, "type")
        bottoms, tops = layer.get("bottom", []), layer.get("top", [])
        in_channels = channels.get(bottoms[0]) if bottoms else None
        blobs: list[np.ndarray] = []
        out_channels = in_channels
        if layer_type == "Input":
            out_channels = int(first(first(layer, "input_param"), "shape")["dim"][1])
            inputs.update(tops)
        elif layer_type in ("Convolution", "Deconvolution"):
            params = first(layer, "convolution_param")
            out_channels = int(first(params, "num_output"))
            kernel = int(first(params, "kernel_size", 1))
            stride = int(first(params, "stride", 1))
            group = int(first(params, "group", 1))
            if layer_type == "Convolution":
                shape = (out_channels, in_channels // group, kernel, kernel)
                fan_in = shape[1] * kernel * kernel
            else:
                shape = (in_channels, out_channels // group, kernel, kernel)
                fan_in = in_channels * max(kernel // stride, 1) ** 2
            gain = 1.0 / INPUT_RANGE if bottoms[0] in inputs else 1.0
            blobs.append(rng.normal(0.0, gain * np.sqrt(2.0 / fan_in), shape).astype(np.float32))
            if first(params, "bias_term", True):
                blobs.append(rng.normal(0.0, 0.05, out_channels).astype(np.float32))
        elif layer_type == "BatchNorm":
            blobs = batch_norm_sums(rng.normal(0.0, 0.1, in_channels), rng.uniform(0.5, 1.5, in_channels))
        elif layer_type == "Scale" and name != SCALE_LAYER:
            params = first(layer, "scale_param", {})
            blobs.append(rng.uniform(0.8, 1.2, in_channels).astype(np.float32))
            if first(params, "bias_term", False):
                blobs.append(rng.normal(0.0, 0.05, in_channels).astype(np.float32))
        elif layer_type == "Scale":
            blobs.append(np.ones(in_channels, np.float32))
        if blobs:
            layers.append((name, layer_type, blobs))
        for top in tops:
            channels[top] = out_channels
    return layers


def write_random_caffemodel(prototxt: Path, caffemodel: Path, seed: int = 0) -> None:
    write_caffemodel(caffemodel, random_weights(Path(prototxt).read_text(), seed), net_name="random")
