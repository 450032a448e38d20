"""The OpenVINO engine and --precision: fp32 the same colours as the other engines, a precision that cannot run here
said once and run as fp32, bf16 where the processor has it, and auto's place for OpenVINO."""
import logging

import numpy as np
import pytest

from colorization import Colorizer, ColorizationError
from colorization.engines import openvino, selection
from tests.support.mini_model import lightness_blob


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_fp32_gives_the_caffe_engine_s_ab_and_scores(mini_model):
    caffe = Colorizer.load(**mini_model, engine="caffe", size=64).engine
    engine = Colorizer.load(**mini_model, engine="openvino", size=64).engine
    blob = lightness_blob(64)
    assert engine.precision == "fp32" and "OpenVINO" in engine.description and "precision: fp32" in engine.description
    np.testing.assert_allclose(engine.forward(blob), caffe.forward(blob), atol=1e-3)
    np.testing.assert_allclose(engine.forward_scores(blob), caffe.forward_scores(blob), atol=1e-3)


@pytest.mark.parametrize("engine", ["openvino", "onnxruntime", "onnx", "caffe"])
def test_fp16_on_the_cpu_is_said_once_and_runs_fp32(mini_model, caplog, engine):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**mini_model, engine=engine, size=64, backend="cpu", precision="fp16")
    (warning,) = warnings_of(caplog)
    assert warning.startswith("warning: --precision fp16 asked for, but ") and warning.endswith(": running fp32")
    assert colorizer.engine.precision == "fp32" and colorizer.device == "CPU"


def test_bf16_runs_where_the_processor_has_it_and_stays_close(mini_model, caplog):
    has_bf16 = "bf16" in openvino.device_precisions(openvino.CPU_DEVICE)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        reduced = Colorizer.load(**mini_model, engine="openvino", size=64, precision="bf16")
    reference = Colorizer.load(**mini_model, engine="openvino", size=64)
    blob = lightness_blob(64)
    if has_bf16:
        assert reduced.engine.precision == "bf16" and reduced.device == "CPU, bf16" and not warnings_of(caplog)
        difference = np.abs(reduced.engine.forward(blob) - reference.engine.forward(blob))
        assert 0 < difference.max() < 10 and difference.mean() < 1.5
    else:
        assert reduced.engine.precision == "fp32" and "no native bf16" in warnings_of(caplog)[0]


def test_an_unknown_precision_is_refused_before_loading(mini_model):
    with pytest.raises(ColorizationError, match="unknown precision 'fp8'"):
        Colorizer.load(**mini_model, precision="fp8")


def test_auto_times_openvino_beside_the_others_and_gives_it_bf16(monkeypatch):
    monkeypatch.setattr(selection.ort, "available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr(selection, "cuda_available", lambda: False)
    monkeypatch.setattr(openvino, "has_intel_gpu", lambda: False)
    assert selection.auto_candidates("auto") == (("onnxruntime", "onnx", "openvino"), "cpu")
    monkeypatch.setattr(openvino, "device_precisions", lambda device: ("fp32", "bf16"))
    assert selection.auto_candidates("auto", "bf16") == (("openvino",), "cpu")
    monkeypatch.setattr(openvino, "has_intel_gpu", lambda: True)
    assert selection.auto_candidates("auto") == (("openvino",), "auto")
    monkeypatch.setattr(openvino, "import_openvino", lambda: None)
    assert selection.auto_candidates("auto") == (("onnxruntime", "onnx"), "cpu")


def test_auto_without_an_engine_for_the_precision_says_so_and_measures_in_fp32(mini_model, monkeypatch, caplog):
    monkeypatch.setattr(openvino, "import_openvino", lambda: None)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**mini_model, size=64, precision="bf16", backend="cpu")
    assert colorizer.engine.precision == "fp32"
    assert any("no engine here runs bf16" in warning for warning in warnings_of(caplog))
