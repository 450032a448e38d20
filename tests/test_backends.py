import logging

import cv2
import pytest

from colorization import network
from colorization.errors import ColorizationError


def test_cpu_is_cpu():
    backend = network.choose_backend("cpu")
    assert (backend.backend_id, backend.target_id) == (cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_CPU)


@pytest.mark.parametrize("requested", ["cuda", "cuda-fp16"])
def test_cuda_missing_warns_once_and_falls_back(monkeypatch, caplog, requested):
    monkeypatch.setattr(network, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        backend = network.choose_backend(requested)
    assert backend.name == "cpu"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no CUDA DNN backend" in warnings[0].getMessage()


def test_auto_is_silent_without_cuda(monkeypatch, caplog):
    monkeypatch.setattr(network, "cuda_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert network.choose_backend("auto").name == "cpu"
    assert not caplog.records


@pytest.mark.parametrize("requested, expected", [("auto", "cuda"), ("cuda", "cuda"), ("cuda-fp16", "cuda-fp16")])
def test_cuda_chosen_when_present(monkeypatch, requested, expected):
    monkeypatch.setattr(network, "cuda_available", lambda: True)
    backend = network.choose_backend(requested)
    assert backend.name == expected and backend.backend_id == cv2.dnn.DNN_BACKEND_CUDA


def test_opencl_falls_back_when_absent(monkeypatch, caplog):
    monkeypatch.setattr(network, "opencl_available", lambda: False)
    with caplog.at_level(logging.WARNING, logger="colorization"):
        assert network.choose_backend("opencl").name == "cpu"
    assert "OpenCL" in caplog.text


def test_unknown_backend():
    with pytest.raises(ColorizationError, match="unknown backend"):
        network.choose_backend("tpu")


def test_auto_matches_what_this_opencv_has():
    """pip wheels have no CUDA, so in CI auto settles on the CPU; a CUDA build would take the GPU."""
    assert network.choose_backend("auto").name == ("cuda" if network.cuda_available() else "cpu")
