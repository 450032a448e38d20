"""The ONNX Runtime engine's own fallbacks: a backend it lacks is said once and the CPU runs; CUDA is looked for
only where its GPU build is installed; its precision is fp32 whatever is asked."""

import logging

import pytest

from colorization import Colorizer
from colorization.engines import onnxruntime as ort


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16", "opencl"])
def test_a_backend_it_lacks_is_said_once_and_the_cpu_runs(monkeypatch, caplog, requested):
    monkeypatch.setattr(ort, "available_providers", lambda: [ort.CPU_PROVIDER])
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert ort.onnxruntime_backend_for(requested) == "cpu"
    (warning,) = [record.getMessage() for record in caplog.records]
    assert f"--backend {requested}" in warning and "running on the CPU" in warning


def test_cuda_is_taken_when_its_provider_is_there(monkeypatch):
    monkeypatch.setattr(ort, "available_providers", lambda: [ort.CUDA_PROVIDER, ort.CPU_PROVIDER])
    assert ort.onnxruntime_backend_for("auto") == "cuda" and ort.onnxruntime_backend_for("cpu") == "cpu"


def test_only_the_gpu_build_is_asked_for_cuda(monkeypatch):
    """The CPU build has no CUDA provider: knowing that costs no import of ONNX Runtime."""
    monkeypatch.setattr(ort, "available_providers", lambda: pytest.fail("ONNX Runtime imported to look for CUDA"))
    monkeypatch.setattr(
        ort.importlib.metadata,
        "version",
        lambda name: (_ for _ in ()).throw(ort.importlib.metadata.PackageNotFoundError(name)),
    )
    assert not ort.has_cuda()


def test_auto_precision_is_fp32_without_a_word(dominant_model, caplog):
    with caplog.at_level(logging.WARNING, logger="colorization"):
        colorizer = Colorizer.load(**dominant_model, engine="onnxruntime", precision="auto")
    assert colorizer.engine.precision == "fp32" and not caplog.records
