"""Which engine runs the network: the Caffe files in cv2.dnn, their compiled ONNX form in cv2.dnn, or in ONNX
Runtime. Every engine has the same `forward`, so the pipeline and the scripts never know which one runs.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from .atomic import write_bytes_atomically
from .errors import ColorizationError
from .model_files import ModelFiles, display_path
from .network import (
    BACKENDS,
    ColorizationNetwork,
    OnnxNetwork,
    annealing_scale,
    caffe_importer_available,
    check_input_size,
    cuda_available,
    error_reason,
)
from .onnx_export import ConversionError, compiled_model

log = logging.getLogger("colorization")

ENGINES = ("auto", "caffe", "onnx", "onnxruntime")
ONNXRUNTIME_MISSING = (
    "--engine onnxruntime needs ONNX Runtime: pip install onnxruntime (or onnxruntime-gpu for an NVIDIA GPU), "
    "or use --engine auto"
)
CAFFE_NEEDS_OPENCV4 = "install a 4.x build with pip install 'opencv-contrib-python<5' for --engine caffe"
CUDA_PROVIDER, CPU_PROVIDER = "CUDAExecutionProvider", "CPUExecutionProvider"
ENGINE_CHOICE_FILE = "engine-choice.json"
MEASURED_ROUNDS = 3


def import_onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        return None
    return onnxruntime


def onnxruntime_providers() -> list[str]:
    onnxruntime = import_onnxruntime()
    return onnxruntime.get_available_providers() if onnxruntime else []


def thread_count() -> int:
    """ONNX Runtime gets as many threads as cv2.dnn (by default one per core this process may use), so that
    cv2.setNumThreads is the one knob for both."""
    return max(1, cv2.getNumThreads())


class OnnxRuntimeNetwork:
    """The `onnxruntime` engine: the compiled model in ONNX Runtime, on its CUDA provider when asked for and present
    (onnxruntime-gpu), else on the CPU."""

    name = "onnxruntime"

    def __init__(self, path: Path, size: int, backend: str = "auto"):
        onnxruntime = import_onnxruntime()
        if onnxruntime is None:
            raise ColorizationError(ONNXRUNTIME_MISSING)
        self.size = size
        self.version = onnxruntime.__version__
        providers = [CPU_PROVIDER]
        if backend in ("auto", "cuda", "cuda-fp16") and CUDA_PROVIDER in onnxruntime.get_available_providers():
            providers.insert(0, CUDA_PROVIDER)
            if backend == "cuda-fp16":
                log.warning("warning: ONNX Runtime runs the model in FP32 on CUDA (cuda-fp16 is for --engine onnx)")
        elif backend in ("cuda", "cuda-fp16"):
            log.warning(
                "warning: --backend %s asked for, but this ONNX Runtime has no CUDA provider "
                "(pip install onnxruntime-gpu): running on the CPU", backend,
            )
        elif backend == "opencl":
            log.warning("warning: ONNX Runtime has no OpenCL backend (use --engine onnx): running on the CPU")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = thread_count()
        # Idle threads sleep instead of spinning: batch and video work decode on other threads meanwhile, and on a
        # busy 2-core machine spinning made the forward 25% slower (measured, median of 9).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(str(path), options, providers=providers)
        except Exception as error:  # ONNX Runtime raises its own exception types for an unreadable file
            reason = error_reason(error)
            raise ColorizationError(
                f"ONNX Runtime could not load the compiled model {display_path(path)} ({reason}): delete it to rebuild it"
            ) from None
        self.input_name = self.session.get_inputs()[0].name
        self.provider = self.session.get_providers()[0]
        if providers[0] == CUDA_PROVIDER and self.provider != CUDA_PROVIDER:
            log.warning(
                "warning: ONNX Runtime could not start its CUDA provider (check the CUDA libraries): running on the CPU"
            )
        log.info("engine: %s", self.describe())

    @property
    def device(self) -> str:
        return "CUDA (NVIDIA GPU, FP32)" if self.provider == CUDA_PROVIDER else "CPU"

    def describe(self) -> str:
        return f"ONNX Runtime {self.version}, backend: {self.device}"

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        return self.session.run(None, {self.input_name: np.ascontiguousarray(centred_lightness, np.float32)})[0]


ENGINE_CLASSES = {"onnx": OnnxNetwork, "onnxruntime": OnnxRuntimeNetwork}
"""The engines that run the compiled model, by name."""


def auto_engine(backend: str) -> tuple[tuple[str, ...], str]:
    """The engines that can be fastest for the backend asked for, and the backend to give them; where there are
    two, `fastest_network` times them on this machine.

    On the CPU, which of ONNX Runtime and cv2.dnn wins depends on the processor (measured: ONNX Runtime 20% faster
    on a Xeon with two AVX-512 units, cv2.dnn's Winograd kernels 1.6x faster on an AMD EPYC). ONNX Runtime is the
    pip-installable way onto an NVIDIA GPU; a CUDA build of OpenCV runs the compiled model too (and has FP16);
    OpenCL is cv2.dnn's alone. The compiled model is always faster than the Caffe one in cv2.dnn, which remains
    the fallback for networks the converter does not translate.
    """
    providers = onnxruntime_providers()
    wants_cuda = backend in ("auto", "cuda", "cuda-fp16")
    if backend == "cuda-fp16" and cuda_available():
        return ("onnx",), backend
    if wants_cuda and CUDA_PROVIDER in providers:
        return ("onnxruntime",), backend
    if wants_cuda and cuda_available():
        return ("onnx",), backend
    if backend == "opencl":
        return ("onnx",), backend
    if backend in ("cuda", "cuda-fp16"):
        log.warning(
            "warning: --backend %s asked for, but this OpenCV build has no CUDA DNN backend or no GPU is visible "
            "(pip wheels are built without CUDA), and %s: running on the CPU",
            backend,
            "ONNX Runtime has no CUDA provider (pip install onnxruntime-gpu)" if providers
            else "ONNX Runtime is not installed",
        )
    return (("onnxruntime", "onnx") if providers else ("onnx",)), "cpu"


def processor_name() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_description(path: Path, candidates: tuple[str, ...]) -> str:
    """What a measurement holds for: this compiled model, these library versions, this processor and thread count."""
    onnxruntime = import_onnxruntime()
    return json.dumps({
        "model": path.name,
        "engines": candidates,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__ if onnxruntime else None,
        "processor": processor_name(),
        "cores": os.cpu_count(),
        "threads": thread_count(),
    }, sort_keys=True)


def median_forward_milliseconds(networks: dict, size: int) -> dict[str, float]:
    """Interleaved rounds after one warm-up each, so a burst of other work on the machine falls on every engine."""
    sample = np.zeros((1, 1, size, size), np.float32)
    for network in networks.values():
        network.forward(sample)
    times = {name: [] for name in networks}
    for _ in range(MEASURED_ROUNDS):
        for name, network in networks.items():
            start = time.perf_counter()
            network.forward(sample)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: float(np.median(values)) for name, values in times.items()}


def fastest_network(path: Path, size: int, backend: str, candidates: tuple[str, ...]):
    """The candidate engine that runs this compiled model fastest here: timed once (a few forwards each, about
    two seconds for the release model on 2 cores) and remembered beside the compiled model, so later runs load
    only the winner. Deleting the file (ENGINE_CHOICE_FILE) measures again."""
    record_path = path.parent / ENGINE_CHOICE_FILE
    description = machine_description(path, candidates)
    try:
        records = json.loads(record_path.read_text())
    except (OSError, ValueError):
        records = {}
    if not isinstance(records, dict):
        records = {}
    record = records.get(description)
    remembered = record.get("engine") if isinstance(record, dict) else None
    if remembered in candidates:
        log.info("engine: %s, measured the fastest here (%s)", remembered, display_path(record_path))
        return ENGINE_CLASSES[remembered](path, size, backend)
    networks = {name: ENGINE_CLASSES[name](path, size, backend) for name in candidates}
    milliseconds = median_forward_milliseconds(networks, size)
    fastest = min(milliseconds, key=milliseconds.get)
    log.info(
        "engine: measured one forward here: %s; %s is the fastest (remembered in %s)",
        ", ".join(f"{name} {value:.0f} ms" for name, value in milliseconds.items()), fastest, display_path(record_path),
    )
    records = {
        key: value for key, value in records.items()
        if isinstance(value, dict) and (path.parent / str(value.get("model", ""))).is_file()
    }
    records[description] = {"engine": fastest, "model": path.name, "milliseconds": milliseconds}
    try:
        write_bytes_atomically(record_path, json.dumps(records, indent=1, sort_keys=True).encode())
    except OSError as error:
        log.info("cannot remember the engine choice in %s (%s)", display_path(record_path), error.strerror or error)
    return networks[fastest]


def load_network(files: ModelFiles, engine: str, backend: str, temperature: float | None, size: int):
    """The network for these files, run by the engine asked for (`auto`: see auto_engine)."""
    if engine not in ENGINES:
        raise ColorizationError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if backend not in BACKENDS:
        raise ColorizationError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    scale = annealing_scale(temperature)
    if engine == "caffe":
        return ColorizationNetwork(files, backend, temperature)
    candidates, backend = auto_engine(backend) if engine == "auto" else ((engine,), backend)
    if "onnxruntime" in candidates and import_onnxruntime() is None:
        raise ColorizationError(ONNXRUNTIME_MISSING)
    try:
        path = compiled_model(files, scale, size)
    except ConversionError as error:
        if not caffe_importer_available():
            raise ConversionError(f"{error}, and this OpenCV has no Caffe importer: {CAFFE_NEEDS_OPENCV4}") from None
        if engine != "auto":
            raise ConversionError(f"{error}: use --engine caffe") from None
        log.info("%s: running the Caffe engine instead", error)
        return ColorizationNetwork(files, backend, temperature)
    if len(candidates) > 1:
        return fastest_network(path, size, backend, candidates)
    return ENGINE_CLASSES[candidates[0]](path, size, backend)
