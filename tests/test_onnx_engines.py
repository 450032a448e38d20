"""The ONNX converter, its cache and the engines: every engine gives the Caffe engine's colours."""
import json
import logging
import subprocess
import sys
import time

import cv2
import numpy as np
import onnx
import pytest

from colorization import Colorizer, ColorizationError, ModelFiles, engines, onnx_export
from colorization.caffe_format import write_random_caffemodel
from colorization.network import ColorizationNetwork, OnnxNetwork
from conftest import DOMINANT_AB, REPO
from tiny_model import PROTOTXT as TINY_PROTOTXT, model_arguments

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


@pytest.fixture
def mini_model(tmp_path, release_points):
    folder = tmp_path / "mini"
    folder.mkdir()
    files = {"prototxt": folder / "mini.prototxt", "caffemodel": folder / "mini.caffemodel", "points": folder / "points.npy"}
    files["prototxt"].write_text(MINI_PROTOTXT)
    write_random_caffemodel(files["prototxt"], files["caffemodel"], seed=3)
    np.save(files["points"], release_points)
    return files


def forward(model: dict, engine: str, size: int, blob: np.ndarray, temperature=None) -> np.ndarray:
    return Colorizer.from_model_dir(**model, engine=engine, size=size, temperature=temperature).network.forward(blob)


def lightness_blob(size: int, count: int = 2, seed: int = 0) -> np.ndarray:
    """Smooth random L - 50, like a photo's rather than noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-50, 50, (count, 1, size // 8, size // 8)).astype(np.float32)
    return np.kron(coarse, np.ones((8, 8), np.float32))


def compiled_graph(model: dict, size: int, temperature=None) -> onnx.GraphProto:
    files = ModelFiles.resolve(**model)
    scale = 2.606 if temperature is None else 1 / temperature
    return onnx.load(str(onnx_export.compiled_model(files, scale, size))).graph


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
    ops = [node.op_type for node in graph.node]
    assert "Softmax" not in ops
    assert ops[-4:] == ["Conv", "Slice", "Slice", "Div"]
    decoding = {i.name: onnx.numpy_helper.to_array(i) for i in graph.initializer}[graph.node[-4].input[1]]
    assert decoding.shape == (3, 313, 1, 1) and np.all(decoding[2] == 1)


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_softmax_feeding_another_layer_is_normalised_there(tmp_path, release_points, engine):
    """A custom net that scales the probabilities before the decoding gets a complete softmax first."""
    folder = tmp_path / "custom"
    folder.mkdir()
    model = {"prototxt": folder / "custom.prototxt", "caffemodel": folder / "custom.caffemodel", "points": folder / "points.npy"}
    decoding = 'layer { name: "class8_ab" type: "Convolution" bottom: "class8_313_rh"'
    model["prototxt"].write_text(MINI_PROTOTXT.replace(
        decoding,
        'layer { name: "probability_scale" type: "Scale" bottom: "class8_313_rh" top: "class8_313_scaled" scale_param { } }\n'
        + decoding.replace('bottom: "class8_313_rh"', 'bottom: "class8_313_scaled"'),
    ))
    write_random_caffemodel(model["prototxt"], model["caffemodel"], seed=5)
    np.save(model["points"], release_points)
    ops = [node.op_type for node in compiled_graph(model, 64).node]
    assert ops.count("ReduceSum") == 1 and ops.index("ReduceSum") < ops.index("Mul", ops.index("Exp"))
    blob = lightness_blob(64)
    np.testing.assert_allclose(forward(model, engine, 64, blob), forward(model, "caffe", 64, blob), atol=1e-3)


def test_release_architecture_compiles_its_six_dilated_convolutions_to_phase_form(release_architecture):
    graph = compiled_graph(release_architecture, 224)
    dilated = [n.name for n in graph.node if n.op_type == "Conv" and any(a.name == "dilations" and list(a.ints) != [1, 1] for a in n.attribute)]
    assert dilated == []
    convolutions = [n.name for n in graph.node if n.op_type == "Conv"]
    phase = convolutions[convolutions.index("conv5_1") : convolutions.index("conv6_3") + 1]
    assert phase == ["conv5_1", "conv5_2", "conv5_3", "conv6_1", "conv6_2", "conv6_3"]
    ops = [n.op_type for n in graph.node]
    assert ops.count("SpaceToDepth") == 1 and ops.count("DepthToSpace") == 1
    assert graph.output[0].name == "class8_ab"
    assert [d.dim_value for d in graph.output[0].type.tensor_type.shape.dim[1:]] == [2, 56, 56]


def test_every_engine_agrees_with_caffe_on_real_photos(release_architecture, photos):
    """Full architecture, random weights: within 0.5 ab units everywhere (the ONNX engines take all photos as one
    batch, which also proves batching keeps the photos apart)."""
    colorizers = {engine: Colorizer.from_model_dir(**release_architecture, engine=engine) for engine in ["caffe", *ONNX_ENGINES]}
    prepared = [colorizers["caffe"].prepare(photo) for photo in photos]
    expected = [colorizers["caffe"].predict_ab([item])[0] for item in prepared]
    assert min(np.abs(ab).max() for ab in expected) > 10, "random weights still give colour"
    for engine in ONNX_ENGINES:
        for reference, actual in zip(expected, colorizers[engine].predict_ab(prepared)):
            assert np.abs(actual - reference).max() <= 0.5, engine


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_tiny_model_bin_centre_through_each_engine(dominant_model, photos, engine):
    colorizer = Colorizer.from_model_dir(**dominant_model, engine=engine)
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


@pytest.fixture
def build_counter(monkeypatch):
    calls = []
    original = onnx_export.build

    def counting_build(*arguments):
        calls.append(arguments[1:])
        return original(*arguments)

    monkeypatch.setattr(onnx_export, "build", counting_build)
    return calls


def compiled_files(model: dict) -> list:
    return sorted(model["caffemodel"].parent.glob("*.onnx"))


def test_compiled_once_beside_the_caffemodel_and_reused(dominant_model, build_counter):
    Colorizer.from_model_dir(**dominant_model, engine="onnx")
    (compiled,) = compiled_files(dominant_model)
    assert compiled.name.startswith("tiny.224px.") and len(build_counter) == 1
    modified = compiled.stat().st_mtime_ns
    for engine in ONNX_ENGINES:
        Colorizer.from_model_dir(**dominant_model, engine=engine)
    assert len(build_counter) == 1, "the second load reuses the compiled model"
    assert compiled_files(dominant_model) == [compiled] and compiled.stat().st_mtime_ns == modified
    assert not [p for p in compiled.parent.iterdir() if ".partial-" in p.name]


def test_temperature_size_and_weights_each_get_their_own(dominant_model, build_counter, release_points):
    Colorizer.from_model_dir(**dominant_model, engine="onnx")
    Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=0.5)
    Colorizer.from_model_dir(**dominant_model, engine="onnx", size=160)
    assert len(build_counter) == 3 and len(compiled_files(dominant_model)) == 3
    Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=0.5)
    assert len(build_counter) == 3
    # New weights in the same file: a new compiled model, with the new colour.
    from tiny_model import write_tiny_model

    bias = np.full(313, -5.0, np.float32)
    bias[np.flatnonzero((release_points == (-30, 40)).all(axis=1))[0]] = 20.0
    write_tiny_model(dominant_model["caffemodel"].parent, bias, release_points)
    colorizer = Colorizer.from_model_dir(**dominant_model, engine="onnx")
    assert len(build_counter) == 4
    ab = colorizer.network.forward(np.zeros((1, 1, 224, 224), np.float32))
    np.testing.assert_allclose(ab[0, :, 0, 0], [-30, 40], atol=1e-3)


@pytest.mark.parametrize("temperature, scale", [(None, np.float32(2.606)), (0.5, np.float32(2.0))])
def test_annealing_scale_is_baked_into_the_graph(dominant_model, temperature, scale):
    graph = compiled_graph(dominant_model, 224, temperature)
    (value,) = [onnx.numpy_helper.to_array(t) for t in graph.initializer if t.name == "conv8_313_rh_annealing"]
    assert value == scale


def test_cache_folder_can_be_chosen(dominant_model, tmp_path, monkeypatch):
    monkeypatch.setenv(onnx_export.CACHE_ENV, str(tmp_path / "cache"))
    Colorizer.from_model_dir(**dominant_model, engine="onnxruntime")
    assert len(list((tmp_path / "cache").glob("tiny.224px.*.onnx"))) == 1
    assert compiled_files(dominant_model) == []


def test_unwritable_cache_is_named(dominant_model, tmp_path, monkeypatch):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv(onnx_export.CACHE_ENV, str(blocker))
    with pytest.raises(ColorizationError, match=f"set {onnx_export.CACHE_ENV} to a writable folder"):
        Colorizer.from_model_dir(**dominant_model, engine="onnx")


@pytest.mark.parametrize(
    "backend, providers, opencv_cuda, expected",
    [
        ("auto", ["CPUExecutionProvider"], False, (("onnxruntime", "onnx"), "cpu")),
        ("auto", [], False, (("onnx",), "cpu")),
        ("cpu", ["CPUExecutionProvider"], True, (("onnxruntime", "onnx"), "cpu")),
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], False, (("onnxruntime",), "auto")),
        ("cuda", ["CPUExecutionProvider"], True, (("onnx",), "cuda")),
        ("cuda-fp16", ["CUDAExecutionProvider", "CPUExecutionProvider"], True, (("onnx",), "cuda-fp16")),
        ("opencl", ["CPUExecutionProvider"], False, (("onnx",), "opencl")),
    ],
)
def test_auto_engine_choice(monkeypatch, backend, providers, opencv_cuda, expected):
    monkeypatch.setattr(engines, "onnxruntime_providers", lambda: providers)
    monkeypatch.setattr(engines, "cuda_available", lambda: opencv_cuda)
    assert engines.auto_engine(backend) == expected


def slowed(engine_class, monkeypatch):
    """Make one engine's forward 30 ms slower than it is (the tiny model's forward takes well under 1 ms)."""
    forward = engine_class.forward

    def slow_forward(self, blob):
        time.sleep(0.03)
        return forward(self, blob)

    monkeypatch.setattr(engine_class, "forward", slow_forward)


@pytest.mark.parametrize("slow, fast", [(engines.OnnxRuntimeNetwork, OnnxNetwork), (OnnxNetwork, engines.OnnxRuntimeNetwork)])
def test_auto_on_the_cpu_measures_both_onnx_engines_and_runs_the_faster(dominant_model, monkeypatch, caplog, slow, fast):
    slowed(slow, monkeypatch)
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.from_model_dir(**dominant_model, backend="cpu")
    assert type(colorizer.network) is fast
    assert f"{fast.name} is the fastest" in caplog.text
    record = json.loads((dominant_model["caffemodel"].parent / engines.ENGINE_CHOICE_FILE).read_text())
    (entry,) = record.values()
    assert entry["engine"] == fast.name and entry["milliseconds"][slow.name] > entry["milliseconds"][fast.name] + 20


def test_the_measured_choice_is_remembered_and_measured_again_for_other_options(dominant_model, monkeypatch, caplog):
    slowed(engines.OnnxRuntimeNetwork, monkeypatch)
    Colorizer.from_model_dir(**dominant_model)
    monkeypatch.setattr(engines, "median_forward_milliseconds", lambda *arguments: pytest.fail("measured again"))
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.from_model_dir(**dominant_model)
    assert type(colorizer.network) is OnnxNetwork and "onnx, measured the fastest here" in caplog.text
    measured = []
    monkeypatch.setattr(engines, "median_forward_milliseconds", lambda networks, size: measured.append(size) or {"onnxruntime": 1.0, "onnx": 2.0})
    assert type(Colorizer.from_model_dir(**dominant_model, temperature=0.5).network) is engines.OnnxRuntimeNetwork
    assert measured == [224], "another compiled model is another measurement"
    record = json.loads((dominant_model["caffemodel"].parent / engines.ENGINE_CHOICE_FILE).read_text())
    assert sorted(entry["engine"] for entry in record.values()) == ["onnx", "onnxruntime"]


@pytest.mark.parametrize("damage", ["{not json", "[]", '{"this machine": "onnx"}'], ids=["not-json", "not-a-table", "not-a-record"])
def test_a_damaged_engine_choice_file_is_measured_again(dominant_model, monkeypatch, damage):
    monkeypatch.setattr(engines, "machine_description", lambda path, candidates: "this machine")
    (dominant_model["caffemodel"].parent / engines.ENGINE_CHOICE_FILE).write_text(damage)
    assert type(Colorizer.from_model_dir(**dominant_model).network) in (OnnxNetwork, engines.OnnxRuntimeNetwork)
    json.loads((dominant_model["caffemodel"].parent / engines.ENGINE_CHOICE_FILE).read_text())


def test_auto_without_onnxruntime_runs_onnx_in_opencv(dominant_model, monkeypatch):
    monkeypatch.setattr(engines, "import_onnxruntime", lambda: None)
    assert isinstance(Colorizer.from_model_dir(**dominant_model).network, OnnxNetwork)


def test_missing_onnxruntime_is_one_clear_line(dominant_model, monkeypatch):
    monkeypatch.setattr(engines, "import_onnxruntime", lambda: None)
    with pytest.raises(ColorizationError) as raised:
        Colorizer.from_model_dir(**dominant_model, engine="onnxruntime")
    message = str(raised.value)
    assert "\n" not in message and "pip install onnxruntime" in message


def test_unknown_engine_or_backend_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="unknown engine 'tensorrt'"):
        Colorizer.from_model_dir(**dominant_model, engine="tensorrt")
    with pytest.raises(ColorizationError, match="unknown backend 'tpu'"):
        Colorizer.from_model_dir(**dominant_model, engine="onnxruntime", backend="tpu")


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
        colorizer = Colorizer.from_model_dir(**untranslatable_model)
    assert isinstance(colorizer.network, ColorizationNetwork)
    assert "does not translate layer 'identity' of type Power: running the Caffe engine instead" in caplog.text


def test_explicit_onnx_says_to_use_caffe_for_what_it_cannot_translate(untranslatable_model, monkeypatch):
    with pytest.raises(ColorizationError, match="of type Power: use --engine caffe$"):
        Colorizer.from_model_dir(**untranslatable_model, engine="onnx")
    monkeypatch.delattr("cv2.dnn.readNetFromCaffe")
    with pytest.raises(ColorizationError, match=r"no Caffe importer: install a 4\.x build"):
        Colorizer.from_model_dir(**untranslatable_model)


def test_a_compiled_model_refuses_another_size_plainly(dominant_model):
    for engine in ONNX_ENGINES:
        network = Colorizer.from_model_dir(**dominant_model, engine=engine).network
        with pytest.raises(ColorizationError, match="takes 224x224 input, not 320x240"):
            network.forward(np.zeros((1, 1, 240, 320), np.float32))


def test_engine_is_described(dominant_model):
    assert Colorizer.from_model_dir(**dominant_model, engine="caffe").engine.startswith("Caffe model in cv2.dnn (OpenCV ")
    assert Colorizer.from_model_dir(**dominant_model, engine="onnx").engine.startswith("ONNX model in cv2.dnn (OpenCV ")
    runtime = Colorizer.from_model_dir(**dominant_model, engine="onnxruntime")
    assert runtime.engine.startswith("ONNX Runtime ") and runtime.backend == "CPU"


def test_only_the_most_recently_used_compiled_models_are_kept(dominant_model, build_counter):
    temperatures = [0.3, 0.4, 0.5, 0.6]
    for temperature in temperatures:
        Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=temperature)
    first_built = compiled_graph_path(dominant_model, temperatures[0])
    Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=temperatures[0])  # used again: now the newest
    Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=0.7)
    kept = compiled_files(dominant_model)
    assert len(kept) == onnx_export.KEEP_COMPILED == 4 and len(build_counter) == 5
    assert first_built in kept and compiled_graph_path(dominant_model, temperatures[1]) not in kept
    (dominant_model["caffemodel"].parent / "unrelated.224px.0123456789abcdef.onnx").write_bytes(b"")
    Colorizer.from_model_dir(**dominant_model, engine="onnx", temperature=0.8)
    assert (dominant_model["caffemodel"].parent / "unrelated.224px.0123456789abcdef.onnx").exists()


def compiled_graph_path(model: dict, temperature: float):
    files = ModelFiles.resolve(**model)
    return files.caffemodel.path.parent / onnx_export.compiled_name(files, 224, onnx_export.cache_key(files, 1 / temperature, 224))


@pytest.mark.parametrize("engine, named", [("caffe", "Caffe model in cv2.dnn"), ("onnx", "ONNX model in cv2.dnn"), ("onnxruntime", "ONNX Runtime")])
def test_colorize_script_runs_each_engine_and_names_it(tmp_path, dominant_model, photos, engine, named):
    picture = tmp_path / "old.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    command = [sys.executable, str(REPO / "colorize.py"), "-i", str(picture), "--engine", engine, "-v", *model_arguments(dominant_model)]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"engine: {named}" in result.stderr and "backend: CPU" in result.stderr
    assert cv2.imread(str(tmp_path / "old_colorized.png")).shape == photos[0].shape


def test_net_level_input_declaration(dominant_model, photos):
    """Older deploy files declare the input with `input:` and `input_shape` instead of an Input layer."""
    prototxt = dominant_model["prototxt"].with_name("net_input.prototxt")
    declared = 'input: "data_l"\ninput_shape { dim: 1 dim: 1 dim: 224 dim: 224 }\n'
    prototxt.write_text(declared + "\n".join(line for line in TINY_PROTOTXT.splitlines() if '"Input"' not in line))
    colorizer = Colorizer.from_model_dir(**{**dominant_model, "prototxt": prototxt}, engine="onnxruntime")
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_old_style_prototxt_is_left_to_caffe(dominant_model):
    prototxt = dominant_model["prototxt"].with_name("v1.prototxt")
    prototxt.write_text('layers { name: "class8_ab" type: CONVOLUTION bottom: "data_l" top: "class8_ab" }\n')
    with pytest.raises(ColorizationError, match="not the old `layers` ones: use --engine caffe"):
        Colorizer.from_model_dir(**{**dominant_model, "prototxt": prototxt}, engine="onnx")

