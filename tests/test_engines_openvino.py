"""The OpenVINO engine and --precision: fp32 the same colours as the other engines, a precision that cannot run here
said once and run as fp32, and `auto` (the default): bf16 where the processor has it, else fp32 without a word."""

import logging
import sys

import numpy as np
import pytest

from colorization import ColorizationError, Colorizer
from colorization.engines import openvino
from tests.support.mini_model import lightness_blob


def warnings_of(caplog) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]


def test_fp32_gives_the_caffe_engine_s_ab_and_scores(mini_model):
    caffe = Colorizer.load(**mini_model, engine="caffe", size=64).engine
    engine = Colorizer.load(**mini_model, engine="openvino", size=64, precision="fp32").engine
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
    assert colorizer.engine.precision == "fp32" and colorizer.device == "CPU, fp32"
    assert warning == f"warning: --precision fp16 asked for, but {colorizer.engine.precision_fallback}: running fp32"


def test_bf16_runs_where_the_processor_has_it_and_stays_close(mini_model, caplog):
    has_bf16 = "bf16" in openvino.device_precisions(openvino.CPU_DEVICE)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        reduced = Colorizer.load(**mini_model, engine="openvino", size=64, precision="bf16")
    reference = Colorizer.load(**mini_model, engine="openvino", size=64, precision="fp32")
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


def test_auto_precision_is_bf16_where_the_processor_has_it(mini_model, simulated_bf16, caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**mini_model, size=64, backend="cpu")
    assert (
        colorizer.engine.name == "openvino" and colorizer.engine.precision == "bf16" and colorizer.device == "CPU, bf16"
    )
    assert not warnings_of(caplog)
    reference = Colorizer.load(**mini_model, size=64, backend="cpu", precision="fp32")
    assert reference.engine.name == "openvino" and reference.engine.precision == "fp32", "--precision fp32 opts out"


def test_auto_precision_is_fp32_without_a_word_where_the_processor_lacks_bf16(mini_model, without_bf16, caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**mini_model, size=64, backend="cpu")
        assert openvino.precision_for(openvino.CPU_DEVICE, "auto") == ("fp32", None)
    assert (
        colorizer.engine.precision == "fp32" and colorizer.engine.precision_fallback is None and not warnings_of(caplog)
    )
    precision, reason = openvino.precision_for(openvino.CPU_DEVICE, "bf16")
    assert precision == "fp32" and "no native bf16 (AVX512-BF16 or AMX)" in reason
    with caplog.at_level(logging.WARNING, logger="colorization"):
        named = Colorizer.load(**mini_model, size=64, backend="cpu", precision="bf16")
    assert named.engine.precision_fallback == reason and reason in warnings_of(caplog)[0], (
        "asked for by name, it is said"
    )


def test_fp16_under_auto_is_for_an_intel_gpu_only(monkeypatch):
    monkeypatch.setattr(
        openvino, "device_precisions", lambda device: ("fp32", "fp16") if device == openvino.GPU_DEVICE else ("fp32",)
    )
    assert openvino.precision_for(openvino.GPU_DEVICE, "auto") == ("fp16", None)
    assert openvino.precision_for(openvino.CPU_DEVICE, "auto") == ("fp32", None)


def test_without_openvino_bf16_asked_for_is_said_once_and_fp32_runs(mini_model, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "openvino", None)  # as if not installed
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**mini_model, size=64, precision="bf16", backend="cpu")
    assert colorizer.engine.name == "onnxruntime" and colorizer.engine.precision == "fp32"
    (warning,) = warnings_of(caplog)
    assert warning.startswith("warning: --precision bf16 asked for, but ONNX Runtime runs this model in fp32 only")
