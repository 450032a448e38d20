"""The `onnxruntime` engine: the compiled model in ONNX Runtime, on its CUDA provider (onnxruntime-gpu) or the CPU."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import platform
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..compiled_models import runtime_copy_path
from ..errors import ColorizationError
from ..model import OUTPUT_LAYER, SCORES_LAYER
from ..paths import display_path
from .base import (
    CPU,
    CUDA_FP32,
    check_input_size,
    error_reason,
    fall_back_to_cpu,
    installed,
    precision_unavailable,
    processor_name,
    thread_count,
)

log = logging.getLogger(__name__)

MISSING = (
    "--engine onnxruntime needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu for an NVIDIA GPU), "
    "or use --engine auto"
)
CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"
NO_ORT_CUDA = "this ONNX Runtime has no CUDA provider (pip install onnxruntime-gpu)"
GPU_DISTRIBUTION = "onnxruntime-gpu"
"""The one ONNX Runtime build with a CUDA provider: only where it is installed is ONNX Runtime imported to ask."""


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def available() -> bool:
    return installed("onnxruntime")


def has_cuda() -> bool:
    """Whether ONNX Runtime can run on CUDA here; ONNX Runtime is imported only when its GPU build is installed."""
    try:
        importlib.metadata.version(GPU_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return False
    return CUDA_PROVIDER in available_providers()


def available_providers() -> list[str]:
    onnxruntime = import_onnxruntime()
    return onnxruntime.get_available_providers() if onnxruntime else []


def onnxruntime_backend_for(requested: str) -> str:
    """The backend ONNX Runtime can honour here: its CUDA provider or the CPU; a missing one is said once."""
    has_cuda = requested != "cpu" and CUDA_PROVIDER in available_providers()
    if requested in ("auto", "cuda", "cuda-fp16") and has_cuda:
        if requested == "cuda-fp16":
            log.warning("warning: ONNX Runtime runs the model in FP32 on CUDA (cuda-fp16 is for --engine onnx)")
        return "cuda"
    if requested in ("cuda", "cuda-fp16"):
        return fall_back_to_cpu(requested, NO_ORT_CUDA)
    if requested == "opencl":
        return fall_back_to_cpu(requested, "ONNX Runtime has no OpenCL backend (use --engine onnx)")
    return "cpu"


def optimized_model(path: Path) -> Path:
    """ONNX Runtime's optimized form of the compiled model, saved beside it the first time: loading it skips the
    graph optimisation that is most of ONNX Runtime's load. Its blocked layers suit this processor and this ONNX
    Runtime only, hence the key; where it cannot be made, the compiled model itself."""
    onnxruntime = import_onnxruntime()
    key = hashlib.sha256(
        json.dumps([onnxruntime.__version__, processor_name(), platform.machine()]).encode()
    ).hexdigest()
    optimized = runtime_copy_path(path, "onnxruntime", key)
    if optimized.is_file():
        return optimized
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        with atomic_output(optimized) as temporary:
            options.optimized_model_filepath = str(temporary)
            onnxruntime.InferenceSession(str(path), options, providers=[CPU_PROVIDER])
    except Exception as error:  # ONNX Runtime raises its own exception types; the plain compiled model still runs
        log.info("ONNX Runtime could not save its optimized model (%s): loading the compiled one", error_reason(error))
        return path
    return optimized


class OnnxRuntimeEngine:
    """On the CPU it loads its own optimized form of the compiled model (see optimized_model)."""

    name = "onnxruntime"
    precision = "fp32"

    def __init__(self, path: Path, size: int, backend: str = "cpu", precision: str = "fp32"):
        onnxruntime = import_onnxruntime()
        if onnxruntime is None:
            raise ColorizationError(MISSING)
        self.precision_fallback = precision_unavailable(
            precision, "ONNX Runtime runs this model in fp32 only (bf16: --engine openvino)"
        )
        backend = onnxruntime_backend_for(backend)
        self.size = size
        self.version = onnxruntime.__version__
        providers = [CUDA_PROVIDER, CPU_PROVIDER] if backend == "cuda" else [CPU_PROVIDER]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = thread_count()
        # Idle threads sleep instead of spinning: batch and video work decode on other threads meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        model = optimized_model(path) if backend == "cpu" else path
        try:
            self.session = onnxruntime.InferenceSession(str(model), options, providers=providers)
        except Exception as error:  # ONNX Runtime raises its own exception types for an unreadable file
            raise ColorizationError(
                f"ONNX Runtime could not load the compiled model {display_path(path)} ({error_reason(error)}): "
                "delete it to rebuild it"
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]
        if providers[0] == CUDA_PROVIDER and self.provider != CUDA_PROVIDER:
            log.warning(
                "warning: ONNX Runtime could not start its CUDA provider (check the CUDA libraries): running on the CPU"
            )

    @property
    def device(self) -> str:
        return CUDA_FP32 if self.provider == CUDA_PROVIDER else CPU

    @property
    def description(self) -> str:
        return f"ONNX Runtime {self.version}, backend: {self.device}, precision: {self.precision}"

    def run(self, centred_lightness: np.ndarray, output: str) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        return self.session.run([output], {self.input_name: np.ascontiguousarray(centred_lightness, np.float32)})[0]

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, OUTPUT_LAYER)

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, SCORES_LAYER)
