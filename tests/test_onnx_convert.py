"""The Caffe -> ONNX converter: every translated net gives the Caffe engine's colours and the graph has the shape
the runtimes' fast kernels want."""

import logging

import numpy as np
import onnx
import pytest

from colorization import ColorizationError, Colorizer
from colorization.engines.opencv_dnn import CaffeEngine
from tests.support import DOMINANT_AB
from tests.support.caffe_writer import write_random_caffemodel
from tests.support.mini_model import MINI_PROTOTXT, ONNX_ENGINES, compiled_graph, forward, lightness_blob
from tests.support.tiny_model import PROTOTXT as TINY_PROTOTXT


@pytest.mark.parametrize("size", [64, 72], ids=["phase-form", "odd-map-keeps-dilation"])
@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_mini_model_engines_equal_caffe(mini_model, engine, size):
    blob = lightness_blob(size)
    expected = forward(mini_model, "caffe", size, blob)
    actual = forward(mini_model, engine, size, blob)
    assert actual.shape == expected.shape == (2, 2, size // 4, size // 4)
    assert expected.std() > 1.0, "the random net must colour the input for the comparison to mean anything"
    np.testing.assert_allclose(actual, expected, atol=1e-3)


@pytest.mark.parametrize("temperature", [1.0, 0.1])
def test_mini_model_temperature_in_every_engine(mini_model, temperature):
    blob = lightness_blob(64)
    expected = forward(mini_model, "caffe", 64, blob, temperature)
    for engine in ONNX_ENGINES:
        np.testing.assert_allclose(forward(mini_model, engine, 64, blob, temperature), expected, atol=1e-3)


def dilation(node: onnx.NodeProto) -> list[int]:
    return next((list(a.ints) for a in node.attribute if a.name == "dilations"), [1, 1])


def test_dilated_convolutions_become_ordinary_ones_in_phase_form(mini_model):
    even = compiled_graph(mini_model, 64)
    assert all(dilation(node) == [1, 1] for node in even.node if node.op_type == "Conv")
    ops = [node.op_type for node in even.node]
    assert ops.count("SpaceToDepth") == 1 and ops.count("DepthToSpace") == 1, "consecutive layers stay in phase form"
    names = [node.name for node in even.node]
    assert ops.index("SpaceToDepth") < names.index("conv4_1") < names.index("conv4_2") < ops.index("DepthToSpace")
    odd = compiled_graph(mini_model, 72)
    assert "SpaceToDepth" not in [node.op_type for node in odd.node]
    kept = [node for node in odd.node if node.name in ("conv4_1", "conv4_2")]
    assert [dilation(node) for node in kept] == [[2, 2], [2, 2]]


def test_softmax_is_normalised_after_the_decoding(mini_model):
    """No Softmax over 313 channels: the two weighted sums of the exponentials are divided by their plain sum
    (equality with the Caffe engine is proven above)."""
    graph = compiled_graph(mini_model, 64)
    nodes = [node for node in graph.node if node.op_type != "Identity"]
    ops = [node.op_type for node in nodes]
    assert "Softmax" not in ops
    assert ops[-4:] == ["Conv", "Slice", "Slice", "Div"]
    decoding = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}[nodes[-4].input[1]]
    assert decoding.shape == (3, 313, 1, 1) and np.all(decoding[2] == 1)


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_softmax_feeding_another_layer_is_normalised_there(tmp_path, release_points, engine):
    """A custom net that scales the probabilities before the decoding gets a complete softmax first."""
    folder = tmp_path / "custom"
    folder.mkdir()
    model = {
        "prototxt": folder / "custom.prototxt",
        "caffemodel": folder / "custom.caffemodel",
        "points": folder / "points.npy",
    }
    decoding = 'layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh"'
    model["prototxt"].write_text(
        MINI_PROTOTXT.replace(
            decoding,
            'layer { name: "probability_scale" type: "Scale" bottom: "class8_313_rh" top: "class8_313_scaled" scale_param { } }\n'
            + decoding.replace('bottom: "class8_313_rh"', 'bottom: "class8_313_scaled"'),
        )
    )
    write_random_caffemodel(model["prototxt"], model["caffemodel"], seed=5)
    np.save(model["points"], release_points)
    ops = [node.op_type for node in compiled_graph(model, 64).node]
    assert ops.count("ReduceSum") == 1 and ops.index("ReduceSum") < ops.index("Mul", ops.index("Exp"))
    blob = lightness_blob(64)
    np.testing.assert_allclose(forward(model, engine, 64, blob), forward(model, "caffe", 64, blob), atol=1e-3)


def test_release_architecture_compiles_its_six_dilated_convolutions_to_phase_form(release_architecture):
    graph = compiled_graph(release_architecture, 224)
    dilated = [
        n.name
        for n in graph.node
        if n.op_type == "Conv" and any(a.name == "dilations" and list(a.ints) != [1, 1] for a in n.attribute)
    ]
    assert dilated == []
    convolutions = [n.name for n in graph.node if n.op_type == "Conv"]
    phase = convolutions[convolutions.index("conv5_1") : convolutions.index("conv6_3") + 1]
    assert phase == ["conv5_1", "conv5_2", "conv5_3", "conv6_1", "conv6_2", "conv6_3"]
    ops = [n.op_type for n in graph.node]
    assert ops.count("SpaceToDepth") == 1 and ops.count("DepthToSpace") == 1
    assert graph.output[0].name == "class8_ab"
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim[1:]] == [2, 56, 56]


def test_net_level_input_declaration(dominant_model, photos):
    """Older deploy files declare the input with `input:` and `input_shape` instead of an Input layer."""
    prototxt = dominant_model["prototxt"].with_name("net_input.prototxt")
    declared = 'input: "data_l"\ninput_shape { dim: 1 dim: 1 dim: 224 dim: 224 }\n'
    prototxt.write_text(declared + "\n".join(line for line in TINY_PROTOTXT.splitlines() if '"Input"' not in line))
    colorizer = Colorizer.load(**{**dominant_model, "prototxt": prototxt}, engine="onnxruntime")
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_old_style_prototxt_is_left_to_caffe(dominant_model):
    prototxt = dominant_model["prototxt"].with_name("v1.prototxt")
    prototxt.write_text('layers { name: "class8_ab" type: CONVOLUTION bottom: "data_l" top: "class8_ab" }\n')
    with pytest.raises(ColorizationError, match="not the old `layers` ones: use --engine caffe"):
        Colorizer.load(**{**dominant_model, "prototxt": prototxt}, engine="onnx")


@pytest.fixture
def untranslatable_model(dominant_model):
    """The tiny model with a layer OpenCV's Caffe importer runs but the converter does not translate."""
    prototxt = dominant_model["prototxt"].with_name("power.prototxt")
    power = 'layer { name: "identity" type: "Power" bottom: "conv8_313" top: "conv8_313" power_param { power: 1 } }\n'
    text = TINY_PROTOTXT.replace('layer { name: "conv8_313_rh"', power + 'layer { name: "conv8_313_rh"')
    prototxt.write_text(text)
    return {**dominant_model, "prototxt": prototxt}


def test_auto_falls_back_to_caffe_for_what_the_converter_cannot_translate(untranslatable_model, caplog):
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.load(**untranslatable_model)
    assert isinstance(colorizer.engine, CaffeEngine)
    assert "does not translate layer 'identity' of type Power: running the Caffe engine instead" in caplog.text


def test_explicit_onnx_says_to_use_caffe_for_what_it_cannot_translate(untranslatable_model, monkeypatch):
    with pytest.raises(ColorizationError, match="of type Power: use --engine caffe$"):
        Colorizer.load(**untranslatable_model, engine="onnx")
    monkeypatch.delattr("cv2.dnn.readNetFromCaffe")
    with pytest.raises(ColorizationError, match=r"no Caffe importer: install a 4\.x build"):
        Colorizer.load(**untranslatable_model)


def test_the_graph_gives_the_ab_and_the_raw_scores_under_the_caffe_names(mini_model):
    graph = compiled_graph(mini_model, 64)
    assert [output.name for output in graph.output] == ["class8_ab", "conv8_313"]
    assert [[d.dim_value for d in output.type.tensor_type.shape.dim[1:]] for output in graph.output] == [
        [2, 16, 16],
        [313, 16, 16],
    ]
