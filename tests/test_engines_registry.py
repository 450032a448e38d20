"""The engine registry: every engine by its name, unknown names refused, a runtime that is not installed said in one
line with the command that installs it, found without importing anything."""

import sys

import pytest

from colorization import ColorizationError, Colorizer
from colorization.engines import registry
from colorization.engines.onnxruntime import OnnxRuntimeEngine
from colorization.engines.opencv_dnn import CaffeEngine, OnnxEngine
from colorization.engines.openvino import OpenVinoEngine


def test_registry_names_every_engine():
    assert {
        "caffe": CaffeEngine,
        "onnx": OnnxEngine,
        "onnxruntime": OnnxRuntimeEngine,
        "openvino": OpenVinoEngine,
    } == registry.ENGINES
    assert all(name == engine.name for name, engine in registry.ENGINES.items())


def test_unknown_engine_or_backend_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="unknown engine 'tensorrt'"):
        Colorizer.load(**dominant_model, engine="tensorrt")
    with pytest.raises(ColorizationError, match="unknown backend 'tpu'"):
        Colorizer.load(**dominant_model, engine="onnxruntime", backend="tpu")


@pytest.mark.parametrize(
    "engine, install", [("onnxruntime", "pip install onnxruntime"), ("openvino", "pip install openvino")]
)
def test_a_missing_runtime_is_one_clear_line(dominant_model, monkeypatch, engine, install):
    monkeypatch.setitem(sys.modules, engine, None)  # as if not installed: importing it fails
    assert not registry.installed(engine)
    with pytest.raises(ColorizationError) as raised:
        Colorizer.load(**dominant_model, engine=engine)
    assert "\n" not in str(raised.value) and install in str(raised.value)


def test_installed_runtimes_are_found_without_importing_them(monkeypatch):
    monkeypatch.setattr(registry.ort, "import_onnxruntime", lambda: pytest.fail("imported ONNX Runtime"))
    monkeypatch.setattr(registry.openvino, "import_openvino", lambda: pytest.fail("imported OpenVINO"))
    assert all(registry.installed(name) for name in registry.ENGINES)
