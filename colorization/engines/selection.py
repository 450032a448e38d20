"""Which engine runs the network, and where: the one place that turns --engine and --backend into a loaded engine.

It owns the fallback rule (a backend this machine lacks is said once, and the CPU runs instead) and, for
`--engine auto` on the CPU, the timing of the candidate engines, remembered beside the compiled model so that later
runs load only the winner.
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

from ..atomic import write_bytes_atomically
from ..compiled_models import compiled_model
from ..errors import ColorizationError
from ..model import DEFAULT_SIZE, RELEASE_SCALE
from ..model_files import ModelFiles
from ..onnx_convert import ConversionError
from ..paths import display_path
from . import onnxruntime as ort
from .base import Engine
from .opencv_dnn import CaffeEngine, OnnxEngine, caffe_importer_available, cuda_available, opencl_available

log = logging.getLogger("colorization")

ENGINES = {"caffe": CaffeEngine, "onnx": OnnxEngine, "onnxruntime": ort.OnnxRuntimeEngine}
"""Every engine by name; all but `caffe` run the compiled model."""
ENGINE_CHOICES = ("auto", *ENGINES)
BACKENDS = ("auto", "cuda", "cuda-fp16", "opencl", "cpu")
CAFFE_NEEDS_OPENCV4 = "install a 4.x build with pip install 'opencv-contrib-python<5' for --engine caffe"
NO_OPENCV_CUDA = "this OpenCV build has no CUDA DNN backend or no GPU is visible (pip wheels are built without CUDA)"
NO_ORT_CUDA = "this ONNX Runtime has no CUDA provider (pip install onnxruntime-gpu)"
ENGINE_CHOICE_FILE = "engine-choice.json"
MEASURED_ROUNDS = 3


def fall_back_to_cpu(requested: str, *reasons: str) -> str:
    log.warning("warning: --backend %s asked for, but %s: running on the CPU", requested, ", and ".join(reasons))
    return "cpu"


def opencv_backend_for(requested: str) -> str:
    """The backend cv2.dnn can honour here for the one asked for."""
    if requested in ("auto", "cuda", "cuda-fp16"):
        if cuda_available():
            return "cuda" if requested == "auto" else requested
        return "cpu" if requested == "auto" else fall_back_to_cpu(requested, NO_OPENCV_CUDA)
    if requested == "opencl" and not opencl_available():
        return fall_back_to_cpu(requested, "OpenCV finds no OpenCL device")
    return requested


def onnxruntime_backend_for(requested: str) -> str:
    """The backend ONNX Runtime can honour here: its CUDA provider or the CPU."""
    has_cuda = ort.CUDA_PROVIDER in ort.available_providers()
    if requested in ("auto", "cuda", "cuda-fp16") and has_cuda:
        if requested == "cuda-fp16":
            log.warning("warning: ONNX Runtime runs the model in FP32 on CUDA (cuda-fp16 is for --engine onnx)")
        return "cuda"
    if requested in ("cuda", "cuda-fp16"):
        return fall_back_to_cpu(requested, NO_ORT_CUDA)
    if requested == "opencl":
        return fall_back_to_cpu(requested, "ONNX Runtime has no OpenCL backend (use --engine onnx)")
    return "cpu"


def auto_candidates(requested: str) -> tuple[tuple[str, ...], str]:
    """The engines that can be fastest for the backend asked for, and the backend to give them; where there are
    two, `fastest_engine` times them on this machine.

    On the CPU, which of ONNX Runtime and cv2.dnn wins depends on the processor, hence the timing. ONNX Runtime is
    the pip-installable way onto an NVIDIA GPU; a CUDA build of OpenCV runs the compiled model too (and has FP16);
    OpenCL is cv2.dnn's alone. The compiled model is always faster than the Caffe one in cv2.dnn, which remains
    the fallback for networks the converter does not translate.
    """
    providers = ort.available_providers()
    wants_cuda = requested in ("auto", "cuda", "cuda-fp16")
    if requested == "cuda-fp16" and cuda_available():
        return ("onnx",), requested
    if wants_cuda and ort.CUDA_PROVIDER in providers:
        return ("onnxruntime",), "cuda"
    if wants_cuda and cuda_available():
        return ("onnx",), "cuda" if requested == "auto" else requested
    if requested == "opencl" and opencl_available():
        return ("onnx",), requested
    if requested != "auto" and requested != "cpu":
        reasons = [NO_OPENCV_CUDA if wants_cuda else "OpenCV finds no OpenCL device"]
        if wants_cuda:
            reasons.append(NO_ORT_CUDA if providers else "ONNX Runtime is not installed")
        fall_back_to_cpu(requested, *reasons)
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
    onnxruntime = ort.import_onnxruntime()
    return json.dumps({
        "model": path.name,
        "engines": candidates,
        "opencv": cv2.__version__,
        "onnxruntime": onnxruntime.__version__ if onnxruntime else None,
        "processor": processor_name(),
        "cores": os.cpu_count(),
        "threads": ort.thread_count(),
    }, sort_keys=True)


def median_forward_milliseconds(engines: dict, size: int) -> dict[str, float]:
    """Interleaved rounds after one warm-up each, so a burst of other work on the machine falls on every engine."""
    sample = np.zeros((1, 1, size, size), np.float32)
    for engine in engines.values():
        engine.forward(sample)
    times = {name: [] for name in engines}
    for _ in range(MEASURED_ROUNDS):
        for name, engine in engines.items():
            start = time.perf_counter()
            engine.forward(sample)
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: float(np.median(values)) for name, values in times.items()}


def read_records(record_path: Path) -> dict:
    try:
        records = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def fastest_engine(path: Path, size: int, backend: str, candidates: tuple[str, ...]):
    """The candidate engine that runs this compiled model fastest here: timed once (a few forwards each) and
    remembered beside the compiled model (ENGINE_CHOICE_FILE; deleting it measures again)."""
    record_path = path.parent / ENGINE_CHOICE_FILE
    description = machine_description(path, candidates)
    records = read_records(record_path)
    record = records.get(description)
    remembered = record.get("engine") if isinstance(record, dict) else None
    if remembered in candidates:
        log.info("engine: %s, measured the fastest here (%s)", remembered, display_path(record_path))
        return ENGINES[remembered](path, size, backend)
    engines = {name: ENGINES[name](path, size, backend) for name in candidates}
    milliseconds = median_forward_milliseconds(engines, size)
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
    return engines[fastest]


def load_engine(
    files: ModelFiles, engine: str = "auto", backend: str = "auto", scale: float = RELEASE_SCALE, size: int = DEFAULT_SIZE
) -> Engine:
    """The engine asked for (`auto`: see auto_candidates), loaded with these files, annealing scale and input size."""
    if engine not in ENGINE_CHOICES:
        raise ColorizationError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    if backend not in BACKENDS:
        raise ColorizationError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    files.check()
    loaded = build_engine(files, engine, backend, scale, size)
    log.info("engine: %s", loaded.description)
    return loaded


def build_engine(files: ModelFiles, engine: str, backend: str, scale: float, size: int) -> Engine:
    if engine == "caffe":
        return CaffeEngine(files, scale, opencv_backend_for(backend))
    if engine == "onnxruntime" and ort.import_onnxruntime() is None:
        raise ColorizationError(ort.MISSING)
    requested = backend
    if engine == "auto":
        candidates, backend = auto_candidates(backend)
    else:
        candidates = (engine,)
        backend = onnxruntime_backend_for(backend) if engine == "onnxruntime" else opencv_backend_for(backend)
    try:
        path = compiled_model(files, scale, size)
    except ConversionError as error:
        if not caffe_importer_available():
            raise ConversionError(f"{error}, and this OpenCV has no Caffe importer: {CAFFE_NEEDS_OPENCV4}") from None
        if engine != "auto":
            raise ConversionError(f"{error}: use --engine caffe") from None
        log.info("%s: running the Caffe engine instead", error)
        return CaffeEngine(files, scale, opencv_backend_for(requested))
    if len(candidates) > 1:
        return fastest_engine(path, size, backend, candidates)
    return ENGINES[candidates[0]](path, size, backend)
