"""Which engine `--engine auto` runs: a fixed preference, or the one `python -m colorization engines` measured fastest
on this machine and stored; never revised by a run's own timings, so the same command runs the same engine every
time. Measuring loads one engine at a time (load, time, free, next), so it never holds two engines' weights.

The preference (docs/engines.md gives the figures behind it): on CUDA, cv2.dnn when this OpenCV build has CUDA (it
alone runs fp16 there), else ONNX Runtime's CUDA provider (onnxruntime-gpu); elsewhere OpenVINO (an Intel GPU
when it sees one, else the CPU: bf16 where the processor has AVX512-BF16 or AMX, else fp32 about as fast as ONNX
Runtime's), then ONNX Runtime, then cv2.dnn, the first installed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import statistics
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..atomic import write_bytes_atomically
from ..compiled_models import CACHE_ENV, compiled_model
from ..errors import ColorizationError
from ..memory import return_freed_memory
from ..model import DEFAULT_SIZE, RELEASE_SCALE
from ..model_files import ModelFiles, user_cache_dir
from ..onnx_convert import ConversionError
from ..paths import display_path
from . import onnxruntime as ort
from . import openvino
from .base import AUTO, Engine, check_precision, fall_back_to_cpu, processor_name, say_precision_fallback, thread_count
from .opencv_dnn import NO_OPENCV_CUDA, CaffeEngine, caffe_importer_available, cuda_available, opencl_available
from .registry import check_names, installed, load_named

log = logging.getLogger(__name__)

CPU_PREFERENCE = ("openvino", "onnxruntime", "onnx")
"""The CPU engines in the order `auto` takes the first installed (see the module's docstring)."""
MEASURED = CPU_PREFERENCE
"""The engines `python -m colorization engines` measures: those that run the compiled model."""
CHOICE_FILE = "engine-choice.json"
NEAR_TIE = 0.05
"""Forwards within this fraction of the fastest are as fast, for what one measurement on a shared machine can tell;
of those the engine holding the least memory is chosen (cv2.dnn's Winograd weights are several times the model's)."""
CAFFE_NEEDS_OPENCV4 = "install a 4.x build with pip install 'opencv-contrib-python<5' for --engine caffe"


@dataclass(frozen=True)
class Choice:
    engine: str
    backend: str
    reason: str
    """Why, for -v."""


def preferred(backend: str) -> Choice:
    """The fixed preference for `--backend` (see the module's docstring); a backend asked for that no engine has
    here is said once, and the CPU runs."""
    if backend in ("auto", "cuda", "cuda-fp16"):
        if cuda_available():
            return Choice("onnx", backend, "cv2.dnn on CUDA, this OpenCV build has it")
        if ort.has_cuda():
            return Choice("onnxruntime", backend, "ONNX Runtime's CUDA provider")
        if backend != "auto":
            backend = fall_back_to_cpu(
                backend, NO_OPENCV_CUDA, ort.NO_ORT_CUDA if ort.available() else "ONNX Runtime is not installed"
            )
    if backend == "opencl":
        if openvino.available() and openvino.has_intel_gpu():
            return Choice("openvino", backend, "OpenVINO on the Intel GPU it sees")
        if opencl_available():
            return Choice("onnx", backend, "cv2.dnn on OpenCL")
        backend = fall_back_to_cpu(backend, "OpenCV finds no OpenCL device")
    name = next(name for name in CPU_PREFERENCE if installed(name))
    return Choice(
        name,
        backend,
        "the first installed of " + ", ".join(CPU_PREFERENCE) + " (python -m colorization engines measures them)",
    )


def choice_path() -> Path:
    """Per user and machine: $COLORIZE_CACHE_DIR, else the user cache folder."""
    return Path(os.environ.get(CACHE_ENV) or user_cache_dir()).expanduser() / CHOICE_FILE


def machine_key(backend: str) -> str:
    """What a measurement holds for: this processor, its cores and threads, and the backend asked for."""
    return json.dumps(
        {"processor": processor_name(), "cores": os.cpu_count(), "threads": thread_count(), "backend": backend},
        sort_keys=True,
    )


def read_records(path: Path) -> dict:
    try:
        records = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def stored_choice(backend: str, precision: str) -> Choice | None:
    """The engine `python -m colorization engines` stored for this machine, backend and precision, if it is still
    installed; anything malformed is ignored, as if nothing had been measured."""
    record = read_records(choice_path()).get(machine_key(backend))
    engines = record.get("engines") if isinstance(record, dict) else None
    name = engines.get(precision) if isinstance(engines, dict) else None
    if not (isinstance(name, str) and name in MEASURED and installed(name) and isinstance(record, dict)):
        return None
    measured = record.get("measured", "?") if isinstance(record, dict) else "?"
    return Choice(name, backend, f"measured fastest here on {measured} ({display_path(choice_path())})")


def auto_choice(backend: str, precision: str) -> Choice:
    return stored_choice(backend, precision) or preferred(backend)


@dataclass(frozen=True)
class Measurement:
    """One engine at one precision, as `python -m colorization engines` timed it: seconds to load and for the first
    forward, milliseconds per later forward (the median), and the memory (MiB) its load and forwards added."""

    engine: str
    asked: str
    """The precision asked for (`auto` or fp32); `precision` is the one that ran."""
    precision: str
    device: str
    load: float
    first: float
    forward: float
    memory: float | None


def resident_mib(peak: bool = False) -> float | None:
    """This process's resident memory, or its peak since reset_peak (Linux's /proc), in MiB; None elsewhere."""
    field = "VmHWM:" if peak else "VmRSS:"
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith(field)) / 1024
    except (OSError, StopIteration, ValueError):
        return None


def reset_peak() -> None:
    """Hand freed memory back to the system and restart the peak count, so that each engine's memory is its own and
    not what the one before it left."""
    return_freed_memory()
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def measure_one(load, engine: str, asked: str, size: int, runs: int) -> tuple[Measurement, str]:
    """Load one engine, time its first forward and `runs` more, and free it before returning."""
    reset_peak()
    before = resident_mib()
    started = time.perf_counter()
    loaded = load(engine, asked)
    load_seconds = time.perf_counter() - started
    sample = np.zeros((1, 1, size, size), np.float32)
    started = time.perf_counter()
    loaded.forward(sample)
    first = time.perf_counter() - started
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        loaded.forward(sample)
        times.append((time.perf_counter() - started) * 1000)
    peak = resident_mib(peak=True)
    memory = None if before is None or peak is None else max(0.0, peak - before)
    result = Measurement(
        engine, asked, loaded.precision, loaded.device, load_seconds, first, statistics.median(times), memory
    )
    description = loaded.description
    del loaded
    return result, description


def measure_engines(files: ModelFiles, backend: str, scale: float, size: int, runs: int = 5) -> list[Measurement]:
    """Every installed engine that runs the compiled model, in the precision `auto` gives it here and, where that
    is not fp32, in fp32 too; one at a time, each freed before the next loads. -v names each as it is timed. The
    compiled model is made first, so that no engine's load or memory includes making it."""
    files.check()
    compiled_model(files, scale, size)

    def load(engine: str, asked: str) -> Engine:
        return load_named(files, engine, backend, scale, size, asked)

    rows = []
    for engine in (name for name in MEASURED if installed(name)):
        for asked in (AUTO, "fp32"):
            try:
                row, description = measure_one(load, engine, asked, size, runs)
            except ColorizationError as error:  # a broken runtime: the others are still measured
                log.warning("warning: %s not measured: %s", engine, error)
                break
            log.info("measured %s: first forward %.2f s, then %.0f ms", description, row.first, row.forward)
            rows.append(row)
            if row.precision == "fp32":
                break
    if not rows:
        raise ColorizationError("no engine could be measured here: see the warnings above")
    return rows


def fastest(rows: list[Measurement], precision: str) -> Measurement | None:
    """The row `--precision precision` runs with `--engine auto`: the fastest forward, or of forwards within
    NEAR_TIE of it the engine holding the least memory; None when no row ran that precision."""
    candidates = [row for row in rows if (row.asked == AUTO if precision == AUTO else row.precision == precision)]
    if not candidates:
        return None
    quickest = min(row.forward for row in candidates)
    as_fast = [row for row in candidates if row.forward <= quickest * (1 + NEAR_TIE)]
    return min(as_fast, key=lambda row: (row.memory if row.memory is not None else 0.0, row.forward))


def store_choice(backend: str, rows: list[Measurement]) -> dict[str, str]:
    """Keep, for this machine and backend, the fastest engine for each precision (`auto` included) with the table
    it was chosen from; later runs with `--engine auto` honour it. Returns precision -> engine."""
    engines = {
        precision: row.engine for precision in (AUTO, "fp32", "bf16", "fp16") if (row := fastest(rows, precision))
    }
    path = choice_path()
    records = read_records(path)
    records[machine_key(backend)] = {
        "engines": engines,
        "measured": datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M"),
        "table": [asdict(row) for row in rows],
    }
    write_records(path, records)
    return engines


def forget_choice(backend: str) -> bool:
    """Drop this machine's stored choice for the backend (back to the preference); False when there was none."""
    path = choice_path()
    records = read_records(path)
    if records.pop(machine_key(backend), None) is None:
        return False
    write_records(path, records)
    return True


def write_records(path: Path, records: dict) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, json.dumps(records, indent=1, sort_keys=True).encode())
    except OSError as error:
        raise ColorizationError(
            f"cannot write the engine choice {display_path(path)} ({error.strerror or error}): set {CACHE_ENV} to a writable folder"
        ) from None


def load_engine(
    files: ModelFiles,
    engine: str = AUTO,
    backend: str = "auto",
    scale: float = RELEASE_SCALE,
    size: int = DEFAULT_SIZE,
    precision: str = AUTO,
) -> Engine:
    """The engine asked for (`auto`: see auto_choice), loaded with these files, annealing scale and input size; -v
    says which and why, and a reduced precision it cannot run is said once (base.say_precision_fallback). A
    network the ONNX converter cannot translate runs in the `caffe` engine under `auto`."""
    check_names(engine, backend)
    check_precision(precision)
    files.check()
    choice = auto_choice(backend, precision) if engine == AUTO else Choice(engine, backend, "")
    if choice.reason:
        log.info("engine: %s for --engine auto: %s", choice.engine, choice.reason)
    try:
        loaded = load_named(files, choice.engine, choice.backend, scale, size, precision)
    except ConversionError as error:
        if not caffe_importer_available():
            raise ConversionError(f"{error}, and this OpenCV has no Caffe importer: {CAFFE_NEEDS_OPENCV4}") from None
        if engine != AUTO:
            raise ConversionError(f"{error}: use --engine caffe") from None
        log.info("%s: running the Caffe engine instead", error)
        loaded = CaffeEngine(files, scale, choice.backend, precision)
    say_precision_fallback(precision, loaded.precision_fallback)
    log.info("engine: %s", loaded.description)
    return loaded
