"""The `openvino` engine: the compiled model in Intel's OpenVINO Runtime, on the CPU or an Intel GPU, in fp32 or a
reduced precision the device has (bf16 on CPUs with AVX512-BF16 or AMX, fp16 on Intel GPUs)."""

from __future__ import annotations

import functools
import hashlib
import logging
from pathlib import Path

import numpy as np

from ..atomic import atomic_output
from ..compiled_models import runtime_copy_path
from ..errors import ColorizationError
from ..memory import return_freed_memory
from ..model import OUTPUT_LAYER, SCORES_LAYER
from ..paths import display_path
from .base import (
    AUTO,
    CPU,
    check_input_size,
    check_precision,
    error_reason,
    installed,
    precision_unavailable,
    thread_count,
)

log = logging.getLogger(__name__)

MISSING = "--engine openvino needs OpenVINO Runtime: pip install openvino, or use --engine auto"
GPU_DEVICE, CPU_DEVICE = "GPU", "CPU"
GPU_BACKENDS = ("auto", "opencl")
"""The backends that take an Intel GPU when OpenVINO sees one: OpenVINO reaches it through OpenCL, and has no CUDA."""
HINTS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}
"""--precision as OpenVINO's INFERENCE_PRECISION_HINT (the names of openvino.Type)."""
DEVICE_PRECISIONS = {CPU_DEVICE: {"bf16": "BF16"}, GPU_DEVICE: {"fp16": "FP16"}}
"""The reduced precisions offered per device, each when the device lists its capability. Some CPUs list FP16 too
but run it slower than fp32, so fp16 is left to GPUs."""


def import_openvino():
    try:
        import openvino
    except ImportError:
        return None
    return openvino


def available() -> bool:
    return installed("openvino")


@functools.lru_cache(maxsize=1)
def openvino_core():
    """One Core per process: it enumerates the devices, which takes a moment, and caches their plugins."""
    return import_openvino().Core()


def has_intel_gpu() -> bool:
    return import_openvino() is not None and GPU_DEVICE in openvino_core().available_devices


def openvino_model(path: Path, precision: str) -> Path:
    """OpenVINO's own form (IR: .xml and .bin) of the compiled model, saved beside it the first time: reading it
    skips the ONNX import, most of OpenVINO's load. fp32 reads the weights as they are; a reduced precision reads
    them stored in fp16, half the memory OpenVINO keeps them in beside its own bf16 or fp16 copy (it rounds them
    further anyway: bf16 and fp16 keep fewer bits, and the results are as close to fp32's). Where it cannot be
    saved, the compiled model itself."""
    openvino = import_openvino()
    half = precision != "fp32"
    key = hashlib.sha256(f"{openvino.__version__} {'fp16' if half else 'fp32'} weights".encode()).hexdigest()
    xml = runtime_copy_path(path, "openvino", key, ".xml")
    weights = xml.with_suffix(".bin")
    if xml.is_file() and weights.is_file():
        return xml
    try:  # the .bin is renamed into place before the .xml: an .xml is never there without its weights
        with atomic_output(xml) as temporary_xml, atomic_output(weights):
            openvino.save_model(openvino_core().read_model(str(path)), str(temporary_xml), compress_to_fp16=half)
    except (OSError, RuntimeError) as error:
        log.info(
            "OpenVINO could not save its form of the compiled model (%s): loading the compiled one", error_reason(error)
        )
        return path
    finally:
        return_freed_memory()  # importing the ONNX file leaves a fragmented heap the size of the model
    return xml


def device_precisions(device: str) -> tuple[str, ...]:
    """fp32, and the reduced precisions this device runs natively (its OPTIMIZATION_CAPABILITIES)."""
    capabilities = openvino_core().get_property(device, "OPTIMIZATION_CAPABILITIES")
    return ("fp32", *(name for name, capability in DEVICE_PRECISIONS[device].items() if capability in capabilities))


def precision_for(device: str, precision: str) -> tuple[str, str | None]:
    """The precision to compile for, and why it is not the one asked for: `auto` is the device's native reduced one
    (bf16 on a CPU with AVX512-BF16 or AMX, fp16 on an Intel GPU) or fp32; one the device lacks gives fp32."""
    offered = device_precisions(device)
    if precision == AUTO:
        return offered[-1], None
    if precision not in offered:
        return "fp32", precision_unavailable(precision, precision_reason(device, precision))
    return precision, None


def precision_reason(device: str, precision: str) -> str:
    if device == GPU_DEVICE:
        return f"OpenVINO's Intel GPU here does not run {precision}"
    if precision == "fp16":
        return "OpenVINO runs fp16 on Intel GPUs only (on the CPU: bf16, where the processor has AVX512-BF16 or AMX)"
    return "this processor has no native bf16 (AVX512-BF16 or AMX)"


class OpenVinoEngine:
    """The device: an Intel GPU when --backend auto or opencl and OpenVINO sees one, else the CPU. The precision is
    always set: on a CPU with bf16, OpenVINO's own default would be bf16 even for --precision fp32. It loads its
    own form of the compiled model (see openvino_model)."""

    name = "openvino"

    def __init__(self, path: Path, size: int, backend: str = "cpu", precision: str = "fp32"):
        openvino = import_openvino()
        if openvino is None:
            raise ColorizationError(MISSING)
        check_precision(precision)
        self.size = size
        self.version = openvino.__version__.split("-")[0]
        self.device_name = GPU_DEVICE if backend in GPU_BACKENDS and has_intel_gpu() else CPU_DEVICE
        if backend == "opencl" and self.device_name == CPU_DEVICE:
            log.warning("warning: --backend opencl asked for, but OpenVINO finds no Intel GPU: running on the CPU")
        elif backend in ("cuda", "cuda-fp16"):
            log.warning(
                "warning: OpenVINO has no CUDA backend (NVIDIA: --engine onnxruntime with onnxruntime-gpu): running on the CPU"
            )
        precision, self.precision_fallback = precision_for(self.device_name, precision)
        config = {"INFERENCE_PRECISION_HINT": HINTS[precision], "PERFORMANCE_HINT": "LATENCY", "NUM_STREAMS": 1}
        if self.device_name == CPU_DEVICE:
            # Unpinned: batch and video work decode and write on other threads of the same cores meanwhile.
            config.update({"INFERENCE_NUM_THREADS": thread_count(), "ENABLE_CPU_PINNING": False})
        try:
            self.compiled = openvino_core().compile_model(
                str(openvino_model(path, precision)), self.device_name, config
            )
        except RuntimeError as error:
            advice = "use --backend cpu" if self.device_name == GPU_DEVICE else "delete it to rebuild it"
            raise ColorizationError(
                f"OpenVINO could not load the compiled model {display_path(path)} on the {self.device_name} "
                f"({error_reason(error)}): {advice}"
            ) from None
        ran = self.compiled.get_property("INFERENCE_PRECISION_HINT")
        self.precision = next(name for name, hint in HINTS.items() if getattr(openvino.Type, hint) == ran)
        self.request = self.compiled.create_infer_request()

    @property
    def device(self) -> str:
        if self.device_name == GPU_DEVICE:
            return f"Intel GPU ({openvino_core().get_property(GPU_DEVICE, 'FULL_DEVICE_NAME')})"
        return CPU

    @property
    def description(self) -> str:
        return f"OpenVINO {self.version}, backend: {self.device}, precision: {self.precision}"

    def run(self, centred_lightness: np.ndarray, output: str) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        results = self.request.infer({0: np.ascontiguousarray(centred_lightness, np.float32)})
        return np.array(results[self.compiled.output(output)], np.float32)

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, OUTPUT_LAYER)

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, SCORES_LAYER)
