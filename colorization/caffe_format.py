"""Just enough of Caffe's formats to describe the colorization net without Caffe: the prototxt text format
(parsed to nested dicts) and the binary NetParameter of a .caffemodel (written from NumPy arrays).

Tests and benchmarks use them to make real .caffemodel files with weights of our own, since the released
weights cannot be committed or downloaded everywhere.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

TOKEN = re.compile(r"""\s*(?:#[^\n]*|([{}:])|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([^\s{}:#"']+))""")


def parse_prototxt(text: str) -> dict[str, list]:
    """Parse protobuf text format into {field: [values...]}, messages as nested dicts, scalars as str/int/float."""
    tokens = []
    for match in TOKEN.finditer(text):
        punctuation, quoted, word = match.groups()
        if punctuation:
            tokens.append(punctuation)
        elif quoted:
            tokens.append(("str", quoted[1:-1]))
        elif word:
            tokens.append(("word", word))
    position = 0

    def parse_message(closing: str | None) -> dict[str, list]:
        nonlocal position
        message: dict[str, list] = {}
        while position < len(tokens):
            token = tokens[position]
            if token == "}":
                if closing != "}":
                    raise ValueError("unbalanced '}' in prototxt")
                position += 1
                return message
            kind, field = token
            position += 1
            if tokens[position] == ":":
                position += 1
            if tokens[position] == "{":
                position += 1
                value = parse_message("}")
            else:
                value = scalar(tokens[position])
                position += 1
            message.setdefault(field, []).append(value)
        if closing:
            raise ValueError("prototxt ends inside a message")
        return message

    return parse_message(None)


def scalar(token):
    kind, text = token
    if kind == "str":
        return text
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text, text)


def first(message: dict, field: str, default=None):
    values = message.get(field)
    return values[0] if values else default


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
            blobs = [
                rng.normal(0.0, 0.1, in_channels).astype(np.float32),
                rng.uniform(0.5, 1.5, in_channels).astype(np.float32),
                np.ones(1, np.float32),
            ]
        elif layer_type == "Scale":
            params = first(layer, "scale_param", {})
            blobs.append(np.ones(in_channels, np.float32))
            if first(params, "bias_term", False):
                blobs.append(np.zeros(in_channels, np.float32))
        if blobs:
            layers.append((name, layer_type, blobs))
        for top in tops:
            channels[top] = out_channels
    return layers


def write_random_caffemodel(prototxt: Path, caffemodel: Path, seed: int = 0) -> None:
    write_caffemodel(caffemodel, random_weights(Path(prototxt).read_text(), seed), net_name="random")
