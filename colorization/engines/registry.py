"""Every engine by name, and loading one by its name: the compiled model made (or found) first for those that run it.

Each engine owns its fallbacks (a backend or a precision it cannot run here is said once, and it runs what it can);
which engine `auto` runs is engines.choice's.
"""

from __future__ import annotations

from pathlib import Path

from ..compiled_models import compiled_model
from ..errors import ColorizationError
from ..model_files import ModelFiles
from . import onnxruntime as ort
from . import openvino
from .base import Engine
from .opencv_dnn import CaffeEngine, OnnxEngine

ENGINES = {
    "caffe": CaffeEngine,
    "onnx": OnnxEngine,
    "onnxruntime": ort.OnnxRuntimeEngine,
    "openvino": openvino.OpenVinoEngine,
}
"""Every engine by name; all but `caffe` run the compiled model."""
ENGINE_CHOICES = ("auto", *ENGINES)
BACKENDS = ("auto", "cuda", "cuda-fp16", "opencl", "cpu")
MISSING = {"onnxruntime": ort.MISSING, "openvino": openvino.MISSING}
"""The engines that need a runtime of their own, and the line that says how to install it."""
RUNTIME_AVAILABLE = {"onnxruntime": ort.available, "openvino": openvino.available}


def installed(name: str) -> bool:
    """Whether engine `name` can be loaded here, found without importing its runtime."""
    return name in ENGINES and (name not in RUNTIME_AVAILABLE or RUNTIME_AVAILABLE[name]())


def check_names(engine: str, backend: str) -> None:
    if engine not in ENGINE_CHOICES:
        raise ColorizationError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    if backend not in BACKENDS:
        raise ColorizationError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")


def load_named(files: ModelFiles, engine: str, backend: str, scale: float, size: int, precision: str) -> Engine:
    """Engine `engine` (not `auto`) with these checked files, on the backend and in the precision asked for or the
    ones it falls back to; the compiled model is made the first time (ConversionError where it cannot be)."""
    if engine == "caffe":
        return CaffeEngine(files, scale, backend, precision)
    if not installed(engine):
        raise ColorizationError(MISSING[engine])
    path: Path = compiled_model(files, scale, size)
    return ENGINES[engine](path, size, backend, precision)
