"""Just enough of Caffe's formats to read the colorization net without Caffe: the prototxt text format (parsed to
nested dicts) and the binary NetParameter of a .caffemodel (read into NumPy arrays), so the ONNX converter needs
neither Caffe nor OpenCV's Caffe importer (which OpenCV 5 removed)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

TOKEN = re.compile(r"""\s*(?:#[^\n]*|([{}:])|("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|([^\s{}:#"']+))""")


def parse_prototxt(text: str) -> dict[str, list]:
    """Parse protobuf text format into {field: [values...]}, messages as nested dicts, scalars as str/int/float."""
    tokens: list[Any] = []
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


WIRE_VARINT, WIRE_FIXED64, WIRE_LENGTH, WIRE_FIXED32 = 0, 1, 2, 5
NET_V1_LAYERS, NET_LAYER = 2, 100
LAYER_NAME, LAYER_BLOBS = 1, 7
V1_LAYER_NAME, V1_LAYER_BLOBS = 4, 6
BLOB_LEGACY_DIMS = (1, 2, 3, 4)
BLOB_DATA, BLOB_SHAPE, BLOB_DOUBLE_DATA = 5, 7, 8
SHAPE_DIM = 1


def read_varint(data: memoryview, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7


def read_field(data: memoryview, position: int) -> tuple[int, int, Any, int]:
    """(field, wire type, value, next position) of the field at `position`; a length-delimited value is the
    (start, end) of its payload, a fixed-width value the position of its bytes."""
    key, position = read_varint(data, position)
    field, wire = key >> 3, key & 7
    value: Any
    if wire == WIRE_VARINT:
        value, position = read_varint(data, position)
    elif wire == WIRE_LENGTH:
        length, position = read_varint(data, position)
        value = (position, position + length)
        position += length
    elif wire in (WIRE_FIXED32, WIRE_FIXED64):
        value = position
        position += 4 if wire == WIRE_FIXED32 else 8
    else:
        raise ValueError(f"unsupported protobuf wire type {wire} at byte {position}")
    return field, wire, value, position


def message_fields(data: memoryview, start: int = 0, end: int | None = None):
    """Yield (field, wire type, value) for each field of the message between `start` and `end`."""
    end = len(data) if end is None else end
    position = start
    while position < end:
        field, wire, value, position = read_field(data, position)
        if position > end:
            raise ValueError("truncated protobuf message")
        yield field, wire, value


def packed_varints(data: memoryview, start: int, end: int) -> list[int]:
    values, position = [], start
    while position < end:
        value, position = read_varint(data, position)
        values.append(value)
    return values


def unpacked_run(
    data: memoryview, position: int, end: int, field: int, wire: int, dtype: str
) -> tuple[np.ndarray, int]:
    """The longest run of consecutive unpacked fixed-width entries of one field starting at `position` (at its key),
    read at once: old Caffe versions wrote each of millions of floats as its own key + value."""
    key = field << 3 | wire
    width = np.dtype(dtype).itemsize
    stride = 1 + width
    available = (end - position) // stride
    records = np.frombuffer(data, np.uint8, count=available * stride, offset=position).reshape(available, stride)
    mismatch = np.flatnonzero(records[:, 0] != key)
    count = int(mismatch[0]) if mismatch.size else available
    values = records[:count, 1:].copy().view(dtype).ravel()
    return values, position + count * stride


BLOB_VALUE_TYPES = {BLOB_DATA: ("<f4", WIRE_FIXED32), BLOB_DOUBLE_DATA: ("<f8", WIRE_FIXED64)}


def decode_blob(data: memoryview, start: int, end: int) -> np.ndarray:
    """BlobProto: `shape` (field 7) or the legacy num/channels/height/width (1-4); float `data` (5) or
    `double_data` (8), each packed or unpacked. The result is float32 of the stored shape."""
    legacy: dict[int, int] = {}
    shape: list[int] | None = None
    chunks: dict[int, list[np.ndarray]] = {field: [] for field in BLOB_VALUE_TYPES}
    position = start
    while position < end:
        field, wire, value, next_position = read_field(data, position)
        if next_position > end:
            raise ValueError("truncated blob")
        if field in BLOB_VALUE_TYPES:
            dtype, unpacked_wire = BLOB_VALUE_TYPES[field]
            if wire == WIRE_LENGTH:
                chunks[field].append(np.frombuffer(data[value[0] : value[1]], dtype).copy())
            elif wire == unpacked_wire:
                values, next_position = unpacked_run(data, position, end, field, wire, dtype)
                chunks[field].append(values)
            else:
                raise ValueError(f"blob values (field {field}) stored with wire type {wire}")
        elif field == BLOB_SHAPE and wire == WIRE_LENGTH:
            shape = []
            for dim_field, dim_wire, dim in message_fields(data, *value):
                if dim_field == SHAPE_DIM:
                    shape.extend(packed_varints(data, *dim) if dim_wire == WIRE_LENGTH else [dim])
        elif field in BLOB_LEGACY_DIMS and wire == WIRE_VARINT:
            legacy[field] = value
        position = next_position
    stored = chunks[BLOB_DATA] or chunks[BLOB_DOUBLE_DATA]
    values = np.concatenate(stored) if stored else np.zeros(0, np.float32)
    if shape is None:
        shape = [legacy.get(field, 0) for field in BLOB_LEGACY_DIMS] if legacy else [values.size]
    if int(np.prod(shape)) != values.size:
        raise ValueError(f"a blob of shape {tuple(shape)} holds {values.size} values")
    return values.astype(np.float32, copy=False).reshape(shape)


def read_caffemodel(path: Path) -> dict[str, list[np.ndarray]]:
    """The weights of a binary .caffemodel as {layer name: [blobs]}, without Caffe or OpenCV's Caffe importer
    (OpenCV 5 has none). Reads new-style `layer` entries and the V1 `layers` of older Caffe files alike."""
    data = memoryview(Path(path).read_bytes())
    try:
        return read_layers(data)
    except (IndexError, ValueError) as error:
        raise ValueError(str(error) if isinstance(error, ValueError) else "it ends in the middle of a field") from None


def read_layers(data: memoryview) -> dict[str, list[np.ndarray]]:
    layers: dict[str, list[np.ndarray]] = {}
    for field, wire, value in message_fields(data):
        if wire != WIRE_LENGTH or field not in (NET_LAYER, NET_V1_LAYERS):
            continue
        name_field, blobs_field = (LAYER_NAME, LAYER_BLOBS) if field == NET_LAYER else (V1_LAYER_NAME, V1_LAYER_BLOBS)
        name, blobs = None, []
        for layer_field, layer_wire, layer_value in message_fields(data, *value):
            if layer_wire != WIRE_LENGTH:
                continue
            if layer_field == name_field:
                name = bytes(data[layer_value[0] : layer_value[1]]).decode("utf-8", "replace")
            elif layer_field == blobs_field:
                blobs.append(decode_blob(data, *layer_value))
        if name is not None and blobs:
            layers[name] = blobs
    return layers
