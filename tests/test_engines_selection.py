import json
import logging
import time

import cv2
import numpy as np
import pytest

from colorization import Colorizer, ColorizationError
from colorization.engines import selection
from colorization.engines.onnxruntime import OnnxRuntimeEngine
from colorization.engines.opencv_dnn import CaffeEngine, OnnxEngine, opencv_backend


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_cpu_is_cpu():
    backend = opencv_backend(selection.opencv_backend_for("cpu"))
    assert (backend.backend_id, backend.target_id) == (cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_CPU)


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16"])
def test_cuda_missing_warns_once_and_falls_back(monkeypatch, caplog, requested):
    monkeypatch.setattr(selection, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for(requested) == "cpu"
    (warning,) = warnings_of(caplog)
    assert "no CUDA DNN backend" in warning and f"--backend {requested}" in warning


def test_auto_is_silent_without_cuda(monkeypatch, caplog):
    monkeypatch.setattr(selection, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for("auto") == "cpu"
    assert not caplog.records


@pytest.mark.parametrize("requested, expected", [("auto", "cuda"), ("cuda", "cuda"), ("cuda-fp16", "cuda-fp16")])
def test_cuda_chosen_when_present(monkeypatch, requested, expected):
    monkeypatch.setattr(selection, "cuda_available", lambda: True)
    chosen = selection.opencv_backend_for(requested)
    assert chosen == expected and opencv_backend(chosen).backend_id == cv2.dnn.DNN_BACKEND_CUDA


def test_opencl_falls_back_when_absent(monkeypatch, caplog):
    monkeypatch.setattr(selection, "opencl_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.opencv_backend_for("opencl") == "cpu"
    assert "OpenCL" in caplog.text


def test_unknown_backend_and_engine(dominant_model):
    with pytest.raises(ColorizationError, match="unknown backend"):
        Colorizer.load(**dominant_model, backend="tpu")
    with pytest.raises(ColorizationError, match="unknown engine"):
        Colorizer.load(**dominant_model, engine="tensorrt")


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16", "opencl"])
def test_onnxruntime_without_the_backend_warns_once(monkeypatch, caplog, requested):
    monkeypatch.setattr(selection.ort, "available_providers", lambda: ["CPUExecutionProvider"])
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert selection.onnxruntime_backend_for(requested) == "cpu"
    (warning,) = warnings_of(caplog)
    assert f"--backend {requested}" in warning and "running on the CPU" in warning


def test_registry_names_every_engine():
    assert selection.ENGINES == {"caffe": CaffeEngine, "onnx": OnnxEngine, "onnxruntime": OnnxRuntimeEngine}
    assert all(name == engine.name for name, engine in selection.ENGINES.items())


@pytest.mark.parametrize(
    "backend, providers, opencv_cuda, expected",
    [
        ("auto", ["CPUExecutionProvider"], False, (("onnxruntime", "onnx"), "cpu")),
        ("auto", [], False, (("onnx",), "cpu")),
        ("cpu", ["CPUExecutionProvider"], True, (("onnxruntime", "onnx"), "cpu")),
        ("auto", ["CUDAExecutionProvider", "CPUExecutionProvider"], False, (("onnxruntime",), "cuda")),
        ("cuda", ["CPUExecutionProvider"], True, (("onnx",), "cuda")),
        ("cuda-fp16", ["CUDAExecutionProvider", "CPUExecutionProvider"], True, (("onnx",), "cuda-fp16")),
        ("opencl", ["CPUExecutionProvider"], False, (("onnx",), "opencl")),
    ],
)
def test_auto_engine_choice(monkeypatch, backend, providers, opencv_cuda, expected):
    monkeypatch.setattr(selection.ort, "available_providers", lambda: providers)
    monkeypatch.setattr(selection, "cuda_available", lambda: opencv_cuda)
    monkeypatch.setattr(selection, "opencl_available", lambda: True)
    assert selection.auto_candidates(backend) == expected


def slowed(engine_class, monkeypatch):
    """Make one engine's forward 30 ms slower than it is (the tiny model's forward takes well under 1 ms)."""
    forward = engine_class.forward

    def slow_forward(self, blob):
        time.sleep(0.03)
        return forward(self, blob)

    monkeypatch.setattr(engine_class, "forward", slow_forward)


@pytest.mark.parametrize("slow, fast", [(OnnxRuntimeEngine, OnnxEngine), (OnnxEngine, OnnxRuntimeEngine)])
def test_auto_on_the_cpu_measures_both_onnx_engines_and_runs_the_faster(dominant_model, monkeypatch, caplog, slow, fast):
    slowed(slow, monkeypatch)
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model, backend="cpu")
    assert type(colorizer.engine) is fast
    assert f"{fast.name} is the fastest" in caplog.text
    record = json.loads((dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).read_text())
    (entry,) = record.values()
    assert entry["engine"] == fast.name and entry["milliseconds"][slow.name] > entry["milliseconds"][fast.name] + 20


def test_the_measured_choice_is_remembered_and_measured_again_for_other_options(dominant_model, monkeypatch, caplog):
    slowed(OnnxRuntimeEngine, monkeypatch)
    Colorizer.load(**dominant_model)
    monkeypatch.setattr(selection, "median_forward_milliseconds", lambda *arguments: pytest.fail("measured again"))
    with caplog.at_level(logging.INFO, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model)
    assert type(colorizer.engine) is OnnxEngine and "onnx, measured the fastest here" in caplog.text
    measured = []
    monkeypatch.setattr(selection, "median_forward_milliseconds", lambda networks, size: measured.append(size) or {"onnxruntime": 1.0, "onnx": 2.0})
    assert type(Colorizer.load(**dominant_model, temperature=0.5).engine) is OnnxRuntimeEngine
    assert measured == [224], "another compiled model is another measurement"
    record = json.loads((dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).read_text())
    assert sorted(entry["engine"] for entry in record.values()) == ["onnx", "onnxruntime"]


@pytest.mark.parametrize("damage", ["{not json", "[]", '{"this machine": "onnx"}'], ids=["not-json", "not-a-table", "not-a-record"])
def test_a_damaged_engine_choice_file_is_measured_again(dominant_model, monkeypatch, damage):
    monkeypatch.setattr(selection, "machine_description", lambda path, candidates: "this machine")
    (dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).write_text(damage)
    assert type(Colorizer.load(**dominant_model).engine) in (OnnxEngine, OnnxRuntimeEngine)
    json.loads((dominant_model["caffemodel"].parent / selection.ENGINE_CHOICE_FILE).read_text())


def test_auto_without_onnxruntime_runs_onnx_in_opencv(dominant_model, monkeypatch):
    monkeypatch.setattr(selection.ort, "import_onnxruntime", lambda: None)
    assert isinstance(Colorizer.load(**dominant_model).engine, OnnxEngine)


def test_missing_onnxruntime_is_one_clear_line(dominant_model, monkeypatch):
    monkeypatch.setattr(selection.ort, "import_onnxruntime", lambda: None)
    with pytest.raises(ColorizationError) as raised:
        Colorizer.load(**dominant_model, engine="onnxruntime")
    message = str(raised.value)
    assert "\n" not in message and "pip install onnxruntime" in message


def test_unknown_engine_or_backend_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="unknown engine 'tensorrt'"):
        Colorizer.load(**dominant_model, engine="tensorrt")
    with pytest.raises(ColorizationError, match="unknown backend 'tpu'"):
        Colorizer.load(**dominant_model, engine="onnxruntime", backend="tpu")
