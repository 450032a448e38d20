"""The .caffemodel reader the ONNX converter uses instead of OpenCV's Caffe importer (absent from OpenCV 5).

The real release file cannot be downloaded here, so the encodings older Caffe versions wrote are made by hand:
V1 `layers` entries, legacy num/channels/height/width dimensions, unpacked and double-precision values.
"""

import struct

import numpy as np
import pytest

from colorization import Colorizer
from colorization.caffe_format import read_caffemodel
from tests.support.caffe_writer import length_delimited, varint, write_caffemodel


def key(field: int, wire: int) -> bytes:
    return varint(field << 3 | wire)


def legacy_blob(array: np.ndarray, unpacked: bool = False, double: bool = False) -> bytes:
    """BlobProto with num/channels/height/width (fields 1-4) instead of `shape`, values as Caffe rc1 wrote them."""
    dims = (1,) * (4 - array.ndim) + array.shape
    payload = b"".join(key(field, 0) + varint(dim) for field, dim in zip((1, 2, 3, 4), dims))
    values = array.ravel()
    if double and unpacked:
        payload += b"".join(key(8, 1) + struct.pack("<d", value) for value in values)
    elif double:
        payload += length_delimited(8, values.astype("<f8").tobytes())
    elif unpacked:
        payload += b"".join(key(5, 5) + struct.pack("<f", value) for value in values)
    else:
        payload += length_delimited(5, values.astype("<f4").tobytes())
    return payload


def v1_layer(name: str, blobs: list[bytes], type_enum: int = 4) -> bytes:
    """V1LayerParameter: bottom 2, top 3, name 4, type 5 (an enum), blobs 6."""
    payload = length_delimited(2, b"below") + length_delimited(3, name.encode()) + length_delimited(4, name.encode())
    payload += key(5, 0) + varint(type_enum)
    return payload + b"".join(length_delimited(6, blob) for blob in blobs)


def test_reads_back_what_the_writer_wrote(tmp_path):
    rng = np.random.default_rng(1)
    layers = [
        (
            "conv",
            "Convolution",
            [rng.normal(size=(8, 3, 3, 3)).astype(np.float32), rng.normal(size=8).astype(np.float32)],
        ),
        (
            "norm",
            "BatchNorm",
            [rng.normal(size=8).astype(np.float32), rng.uniform(size=8).astype(np.float32), np.ones(1, np.float32)],
        ),
        ("empty_shape", "Scale", [np.float32(3.5).reshape(())]),
    ]
    write_caffemodel(tmp_path / "net.caffemodel", layers, net_name="test")
    weights = read_caffemodel(tmp_path / "net.caffemodel")
    assert list(weights) == ["conv", "norm", "empty_shape"]
    for name, _, blobs in layers:
        assert len(weights[name]) == len(blobs)
        for read, written in zip(weights[name], blobs):
            assert read.dtype == np.float32 and read.shape == written.shape
            assert np.array_equal(read, written)


@pytest.mark.parametrize("unpacked", [False, True])
@pytest.mark.parametrize("double", [False, True])
def test_v1_layers_with_legacy_dimensions(tmp_path, unpacked, double):
    weights = np.arange(2 * 3 * 2 * 2, dtype=np.float32).reshape(2, 3, 2, 2) / 7
    bias = np.array([0.5, -0.25], np.float32)
    data = length_delimited(1, b"old net")
    data += length_delimited(
        2, v1_layer("conv_old", [legacy_blob(weights, unpacked, double), legacy_blob(bias, unpacked, double)])
    )
    data += length_delimited(2, v1_layer("relu_old", [], type_enum=18))
    (tmp_path / "old.caffemodel").write_bytes(data)
    read = read_caffemodel(tmp_path / "old.caffemodel")
    assert list(read) == ["conv_old"], "layers without blobs carry no weights"
    read_weights, read_bias = read["conv_old"]
    assert read_weights.shape == (2, 3, 2, 2) and read_bias.shape == (1, 1, 1, 2)
    assert np.array_equal(read_weights, weights) and np.array_equal(read_bias.ravel(), bias)


def test_blob_shape_with_unpacked_dims(tmp_path):
    """BlobShape's dim is declared packed, but a writer may emit one varint per dimension."""
    values = np.linspace(-1, 1, 6, dtype=np.float32)
    shape = b"".join(key(1, 0) + varint(d) for d in (2, 3))
    blob = length_delimited(7, shape) + length_delimited(5, values.tobytes())
    layer = length_delimited(1, b"scale") + length_delimited(2, b"Scale") + length_delimited(7, blob)
    (tmp_path / "dims.caffemodel").write_bytes(length_delimited(100, layer))
    assert np.array_equal(read_caffemodel(tmp_path / "dims.caffemodel")["scale"][0], values.reshape(2, 3))


@pytest.mark.parametrize(
    "data, reason",
    [
        (
            length_delimited(
                100,
                length_delimited(
                    7, length_delimited(5, b"\x00" * 8) + length_delimited(7, length_delimited(1, varint(3)))
                ),
            )[:-1],
            "truncated|middle",
        ),
        (bytes([0x0F]) + b"rubbish", "wire type 7"),
        (
            length_delimited(
                100,
                length_delimited(1, b"x")
                + length_delimited(
                    7, length_delimited(7, length_delimited(1, varint(3))) + length_delimited(5, b"\x00" * 8)
                ),
            ),
            r"shape \(3,\) holds 2 values",
        ),
    ],
    ids=["truncated", "unknown wire type", "wrong value count"],
)
def test_damaged_files_are_refused(tmp_path, data, reason):
    (tmp_path / "bad.caffemodel").write_bytes(data)
    with pytest.raises(ValueError, match=reason):
        read_caffemodel(tmp_path / "bad.caffemodel")


def test_an_old_style_caffemodel_colorizes_like_the_new_one(tmp_path, lightness_model, photos):
    """The same weights in V1 `layers` with legacy dims and unpacked floats give the same colours through ONNX."""
    weights = read_caffemodel(lightness_model["caffemodel"])
    old = tmp_path / "old.caffemodel"
    old.write_bytes(
        b"".join(
            length_delimited(2, v1_layer(name, [legacy_blob(b, unpacked=True) for b in blobs]))
            for name, blobs in weights.items()
        )
    )
    old_model = {**lightness_model, "caffemodel": old}
    new_ab = Colorizer.load(**lightness_model, engine="onnxruntime")
    old_ab = Colorizer.load(**old_model, engine="onnxruntime")
    prepared = [new_ab.prepare(photos[0])]
    expected, actual = new_ab.predict_ab(prepared)[0], old_ab.predict_ab(prepared)[0]
    assert np.abs(expected).max() > 5, "the model colours the picture"
    np.testing.assert_array_equal(actual, expected)
