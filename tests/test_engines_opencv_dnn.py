"""The engines themselves: every one gives the Caffe engine's colours and says what it is; cv2.dnn's backends and
the precision `auto` gives it."""

import logging
import subprocess
import sys

import cv2
import numpy as np
import pytest

from colorization import ColorizationError, Colorizer
from colorization.caffe_format import first, parse_prototxt, read_caffemodel
from colorization.engines import opencv_dnn
from colorization.engines.opencv_dnn import opencv_backend
from colorization.model import SCALE_LAYER
from tests.support import DOMINANT_AB, REPO
from tests.support.mini_model import ONNX_ENGINES, lightness_blob
from tests.support.tiny_model import model_arguments


def test_every_engine_agrees_with_caffe_on_real_photos(release_architecture, photos):
    """Full architecture, trained-like random weights: within 0.02 ab units everywhere (float rounding; a
    mishandled layer is off by whole units). The ONNX engines take all photos as one batch, which also proves
    batching keeps the photos apart."""
    assert_weights_are_shaped_like_trained_ones(release_architecture)
    colorizers = {engine: Colorizer.load(**release_architecture, engine=engine) for engine in ["caffe", *ONNX_ENGINES]}
    prepared = [colorizers["caffe"].prepare(photo) for photo in photos]
    expected = [colorizers["caffe"].predict_ab([item])[0] for item in prepared]
    assert min(np.abs(ab).mean() for ab in expected) > 5, "random weights still give colour"
    for engine in ONNX_ENGINES:
        for reference, actual in zip(expected, colorizers[engine].predict_ab(prepared)):
            assert np.abs(actual - reference).max() <= 0.02, engine


def assert_weights_are_shaped_like_trained_ones(model: dict) -> None:
    """What a converter must get right to give the release's colours: each of the release's seven BatchNorm layers
    (it has no other normalisation) stores running sums with a moving-average factor far from 1, non-zero means and
    varied variances, so a reader that ignores the factor gives other colours."""
    net = parse_prototxt(model["prototxt"].read_text())
    weights = read_caffemodel(model["caffemodel"])
    kinds = {first(layer, "name"): first(layer, "type") for layer in net["layer"]}
    batch_norms = [name for name, kind in kinds.items() if kind == "BatchNorm"]
    assert len(batch_norms) == 7
    for name in batch_norms:
        mean, variance, factor = weights[name]
        assert factor.size == 1 and factor.ravel()[0] > 100, name
        assert np.abs(mean).max() > 1 and variance.min() > 0 and variance.std() > 0, name


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_tiny_model_bin_centre_through_each_engine(dominant_model, photos, engine):
    colorizer = Colorizer.load(**dominant_model, engine=engine)
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_a_compiled_model_refuses_another_size_plainly(dominant_model):
    for engine in ONNX_ENGINES:
        engine_object = Colorizer.load(**dominant_model, engine=engine).engine
        with pytest.raises(ColorizationError, match="takes 224x224 input, not 320x240"):
            engine_object.forward(np.zeros((1, 1, 240, 320), np.float32))


def test_engine_is_described(dominant_model):
    assert Colorizer.load(**dominant_model, engine="caffe").engine.description.startswith(
        "Caffe model in cv2.dnn (OpenCV "
    )
    assert Colorizer.load(**dominant_model, engine="onnx").engine.description.startswith(
        "ONNX model in cv2.dnn (OpenCV "
    )
    runtime = Colorizer.load(**dominant_model, engine="onnxruntime")
    assert runtime.engine.description.startswith("ONNX Runtime ") and runtime.device == "CPU, fp32"


@pytest.mark.parametrize(
    "engine, named",
    [("caffe", "Caffe model in cv2.dnn"), ("onnx", "ONNX model in cv2.dnn"), ("onnxruntime", "ONNX Runtime")],
)
def test_colorize_script_runs_each_engine_and_names_it(tmp_path, dominant_model, photos, engine, named):
    picture = tmp_path / "old.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    command = [
        sys.executable,
        str(REPO / "colorize.py"),
        "-i",
        str(picture),
        "--engine",
        engine,
        "-v",
        *model_arguments(dominant_model),
    ]
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"engine: {named}" in result.stderr and "backend: CPU" in result.stderr
    assert cv2.imread(str(tmp_path / "old_colorized.png")).shape == photos[0].shape


@pytest.mark.parametrize("engine", ONNX_ENGINES)
def test_every_engine_gives_the_caffe_scores_and_they_decode_to_its_ab(mini_model, engine):
    """The raw 313-bin scores are the same in every engine, and decoding them (at the release temperature or
    another) gives what the network's own annealed mean gives."""
    colorizers = {name: Colorizer.load(**mini_model, engine=name, size=64) for name in ("caffe", engine)}
    blob = lightness_blob(64, count=1)
    scores = {name: colorizer.engine.forward_scores(blob)[0] for name, colorizer in colorizers.items()}
    assert scores["caffe"].shape == (313, 16, 16) and scores["caffe"].std() > 0.1
    np.testing.assert_allclose(scores[engine], scores["caffe"], atol=1e-3)
    colorizer = colorizers[engine]
    np.testing.assert_allclose(
        colorizer.decode(scores[engine]), colorizer.engine.forward(blob)[0].transpose(1, 2, 0), atol=1e-3
    )
    cooler = Colorizer.load(**mini_model, engine="caffe", size=64, temperature=0.8)
    np.testing.assert_allclose(
        colorizer.decode(scores[engine], 0.8), cooler.engine.forward(blob)[0].transpose(1, 2, 0), atol=1e-3
    )


def test_default_annealing_scale_is_exactly_the_release_value(dominant_model):
    """The release's 2.606 exactly, not 1/0.38 = 2.6316: OpenCV's sample installs that very number."""
    engine = Colorizer.load(**dominant_model, engine="caffe").engine
    blob = engine.net.getLayer(engine.net.getLayerId(SCALE_LAYER)).blobs[0]
    assert np.all(blob == np.float32(2.606))


def test_temperature_sets_the_scale(dominant_model):
    engine = Colorizer.load(**dominant_model, engine="caffe", temperature=0.5).engine
    blob = engine.net.getLayer(engine.net.getLayerId(SCALE_LAYER)).blobs[0]
    assert np.allclose(blob, 2.0)


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_cpu_is_cpu():
    backend = opencv_backend(opencv_dnn.opencv_backend_for("cpu"))
    assert (backend.backend_id, backend.target_id) == (cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_CPU)


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16"])
def test_cuda_missing_warns_once_and_falls_back(monkeypatch, caplog, requested):
    monkeypatch.setattr(opencv_dnn, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert opencv_dnn.opencv_backend_for(requested) == "cpu"
    (warning,) = warnings_of(caplog)
    assert "no CUDA DNN backend" in warning and f"--backend {requested}" in warning


def test_auto_is_silent_without_cuda(monkeypatch, caplog):
    monkeypatch.setattr(opencv_dnn, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert opencv_dnn.opencv_backend_for("auto") == "cpu"
    assert not caplog.records


@pytest.mark.parametrize("requested, expected", [("auto", "cuda"), ("cuda", "cuda"), ("cuda-fp16", "cuda-fp16")])
def test_cuda_chosen_when_present(monkeypatch, requested, expected):
    monkeypatch.setattr(opencv_dnn, "cuda_available", lambda: True)
    chosen = opencv_dnn.opencv_backend_for(requested)
    assert chosen == expected and opencv_backend(chosen).backend_id == cv2.dnn.DNN_BACKEND_CUDA


def test_opencl_falls_back_when_absent(monkeypatch, caplog):
    monkeypatch.setattr(opencv_dnn, "opencl_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert opencv_dnn.opencv_backend_for("opencl") == "cpu"
    assert "OpenCL" in caplog.text


@pytest.mark.parametrize(
    "backend, precision, target",
    [
        ("cuda", "auto", "cuda-fp16"),
        ("cuda", "fp16", "cuda-fp16"),
        ("cuda", "fp32", "cuda"),
        ("cpu", "auto", "cpu"),
        ("opencl", "auto", "opencl"),
        ("cuda-fp16", "fp32", "cuda-fp16"),
    ],
)
def test_auto_precision_is_fp16_on_cuda_and_fp32_elsewhere(backend, precision, target, caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert opencv_dnn.target_for(backend, precision) == target
    assert not caplog.records


@pytest.mark.parametrize("engine", ["caffe", "onnx"])
def test_cv2_dnn_on_the_cpu_runs_fp32_under_auto_without_a_word(dominant_model, caplog, engine):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model, engine=engine, precision="auto")
    assert colorizer.engine.precision == "fp32" and colorizer.device == "CPU, fp32" and not warnings_of(caplog)


def test_caffe_is_the_reference_fp32_under_auto_even_where_bf16_runs(dominant_model, simulated_bf16):
    assert Colorizer.load(**dominant_model, backend="cpu").engine.precision == "bf16", (
        "the default engine runs bf16 here"
    )
    reference = Colorizer.load(**dominant_model, engine="caffe", backend="cpu")
    assert reference.engine.precision == "fp32" and reference.device == "CPU, fp32"
