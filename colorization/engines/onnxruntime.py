"""The `onnxruntime` engine: the compiled model in ONNX Runtime, on its CUDA provider (onnxruntime-gpu) or the CPU."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from ..errors import ColorizationError
from ..model import OUTPUT_LAYER, SCORES_LAYER
from ..paths import display_path
from .base import CPU, CUDA_FP32, check_input_size, error_reason, precision_unavailable, thread_count

log = logging.getLogger("colorization")

MISSING = (
    "--engine onnxruntime needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu for an NVIDIA GPU), "
    "or use --engine auto"
)
CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def available_providers() -> list[str]:
    onnxruntime = import_onnxruntime()
    return onnxruntime.get_available_providers() if onnxruntime else []


class OnnxRuntimeEngine:
    name = "onnxruntime"
    precision = "fp32"

    def __init__(self, path: Path, size: int, backend: str = "cpu", precision: str = "fp32"):
        onnxruntime = import_onnxruntime()
        if onnxruntime is None:
            raise ColorizationError(MISSING)
        if precision != "fp32":
            precision_unavailable(precision, "ONNX Runtime runs this model in fp32 only (bf16: --engine openvino)")
        self.size = size
        self.version = onnxruntime.__version__
        providers = [CUDA_PROVIDER, CPU_PROVIDER] if backend == "cuda" else [CPU_PROVIDER]
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = thread_count()
        # Idle threads sleep instead of spinning: batch and video work decode on other threads meanwhile.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        except Exception as error:  # ONNX Runtime raises its own exception types for an unreadable file
            raise ColorizationError(
                f"ONNX Runtime could not load the compiled model {display_path(path)} ({error_reason(error)}): "
                "delete it to rebuild it"
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]
        if providers[0] == CUDA_PROVIDER and self.provider != CUDA_PROVIDER:
            log.warning("warning: ONNX Runtime could not start its CUDA provider (check the CUDA libraries): running on the CPU")

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
