"""Which engine runs the network, and where: the one place that turns --engine and --backend into a loaded engine.

It owns the fallback rule (a backend this machine lacks is said once, and the CPU runs instead) and, for
`--engine auto` on the CPU, the timing of the candidate engines (load, first forward, later forwards), remembered
beside the compiled model so that later runs load only the one that suits their work: one photo, a folder, a film.
"""
from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from ..atomic import atomic_output, write_bytes_atomically
from ..compiled_models import compiled_model, runtime_copy_path
from ..errors import ColorizationError
from ..model import DEFAULT_SIZE, RELEASE_SCALE
from ..model_files import ModelFiles
from ..onnx_convert import ConversionError
from ..paths import display_path
from . import onnxruntime as ort
from . import openvino
from .base import Engine, check_precision, error_reason, precision_unavailable, thread_count
from .opencv_dnn import CaffeEngine, OnnxEngine, caffe_importer_available, cuda_available, opencl_available

log = logging.getLogger("colorization")

ENGINES = {"caffe": CaffeEngine, "onnx": OnnxEngine, "onnxruntime": ort.OnnxRuntimeEngine, "openvino": openvino.OpenVinoEngine}
"""Every engine by name; all but `caffe` run the compiled model."""
ENGINE_CHOICES = ("auto", *ENGINES)
BACKENDS = ("auto", "cuda", "cuda-fp16", "opencl", "cpu")
CAFFE_NEEDS_OPENCV4 = "install a 4.x build with pip install 'opencv-contrib-python<5' for --engine caffe"
NO_OPENCV_CUDA = "this OpenCV build has no CUDA DNN backend or no GPU is visible (pip wheels are built without CUDA)"
NO_ORT_CUDA = "this ONNX Runtime has no CUDA provider (pip install onnxruntime-gpu)"
AUTO_PRECISION_REASON = {
    "bf16": "no engine here runs bf16 (--engine openvino does, on a processor with AVX512-BF16 or AMX: pip install openvino)",
    "fp16": "no engine here runs fp16 (cv2.dnn on CUDA, OpenVINO on an Intel GPU)",
}
ENGINE_CHOICE_FILE = "engine-choice.json"
MEASURED_ROUNDS = 3
"""Forwards of each engine after its first, interleaved, whose median is its per-picture cost."""
KEPT_MEASUREMENTS = 5
DISAGREEMENT = 2.0
"""How many times slower than measured a run's own forwards may be before they can ask for a new measurement."""
STEADY_SAMPLE = 5
"""Forwards after the first whose median a run compares with the measured per-picture cost."""
WORKLOAD_PICTURES = {"photo": 1, "batch": 100, "video": 1000, "server": math.inf}
"""How many pictures each kind of run expects to put through the engine it loads: for one photo the start-up
(load and first forward) is most of the time, for a folder or a film the per-picture cost decides."""
DEFAULT_WORKLOAD = "server"
"""A Colorizer made by a program is loaded once and used for many pictures."""
NEAR_TIE = 0.05
"""Engines whose time for the work is within this fraction of the fastest's are as fast, for what one measurement on
a shared machine can tell; among them the one that holds the least memory runs (cv2.dnn's Winograd weights are
several times the model's size), so a folder or a film runs in less memory for no measurable loss."""


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


def auto_candidates(requested: str, precision: str = "fp32") -> tuple[tuple[str, ...], str]:
    """The engines that can be fastest for the backend asked for, and the backend to give them; where there are
    two, `chosen_engine` picks by their times on this machine.

    On the CPU, which of ONNX Runtime and cv2.dnn wins depends on the processor, hence the timing. ONNX Runtime is
    the pip-installable way onto an NVIDIA GPU; a CUDA build of OpenCV runs the compiled model too (and has FP16);
    OpenCL is cv2.dnn's, or OpenVINO's on an Intel GPU, as is bf16 on the CPU. A reduced precision goes to the one
    engine that has it here, untimed. The compiled model is always faster than the Caffe one in cv2.dnn, which
    remains the fallback for networks the converter does not translate.
    """
    providers = ort.available_providers()
    wants_cuda = requested in ("auto", "cuda", "cuda-fp16")
    if (requested == "cuda-fp16" or wants_cuda and precision == "fp16") and cuda_available():
        return ("onnx",), "cuda-fp16"
    if wants_cuda and ort.CUDA_PROVIDER in providers:
        return ("onnxruntime",), "cuda"
    if wants_cuda and cuda_available():
        return ("onnx",), "cuda" if requested == "auto" else requested
    with_openvino = openvino.import_openvino() is not None
    if requested in ("auto", "opencl") and with_openvino and openvino.has_intel_gpu():
        return ("openvino",), requested
    if requested == "opencl" and opencl_available():
        return ("onnx",), requested
    if requested != "auto" and requested != "cpu":
        reasons = [NO_OPENCV_CUDA if wants_cuda else "OpenCV finds no OpenCL device"]
        if wants_cuda:
            reasons.append(NO_ORT_CUDA if providers else "ONNX Runtime is not installed")
        fall_back_to_cpu(requested, *reasons)
    if with_openvino and precision != "fp32" and precision in openvino.device_precisions(openvino.CPU_DEVICE):
        return ("openvino",), "cpu"
    return ("onnxruntime",) * bool(providers) + ("onnx",) + ("openvino",) * with_openvino, "cpu"


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
        "openvino": getattr(openvino.import_openvino(), "__version__", None),
        "processor": processor_name(),
        "cores": os.cpu_count(),
        "threads": thread_count(),
    }, sort_keys=True)


@dataclass(frozen=True)
class EngineCost:
    """What one engine costs here, in milliseconds: loading the compiled model, its first forward (cv2.dnn prepares
    its Winograd weights then) and each forward after it; and the resident memory (MiB) its load and first forward
    added, None where it could not be read."""

    load: float
    first: float
    steady: float
    memory: float | None = None

    def total(self, pictures: float) -> float:
        return math.inf if math.isinf(pictures) else self.load + self.first + (pictures - 1) * self.steady

    def summary(self, pictures: float) -> str:
        total = "" if math.isinf(pictures) else f"{self.total(pictures) / 1000:.2f} s = "
        memory = "" if self.memory is None else f", {self.memory:.0f} MiB"
        return f"{total}load {self.load:.0f} + first {self.first:.0f} + {self.steady:.0f} ms per later picture{memory}"


def resident_mib() -> float | None:
    """This process's resident memory (Linux's /proc), None elsewhere. Memory freed before (ONNX Runtime's session
    that optimizes the model, say) is first handed back to the system where the C library can, or the next engine
    would reuse it unseen and look smaller than it is."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / (1 << 20)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def expected_pictures(workload: "str | float") -> float:
    """How many pictures a command will put through the engine it loads (see WORKLOAD_PICTURES)."""
    if isinstance(workload, str):
        if workload not in WORKLOAD_PICTURES:
            raise ColorizationError(f"unknown workload {workload!r}: choose one of {', '.join(WORKLOAD_PICTURES)} or a picture count")
        return WORKLOAD_PICTURES[workload]
    if not workload >= 1:
        raise ColorizationError(f"a workload of {workload!r} pictures: give at least 1")
    return float(workload)


def cheapest(costs: dict[str, EngineCost], pictures: float) -> str:
    """The engine that puts `pictures` pictures through soonest, start-up included (for an open-ended run, a server,
    the one with the fastest forward); of those within NEAR_TIE of it, the one holding the least memory."""
    def time_for_work(name: str) -> float:
        return costs[name].steady if math.isinf(pictures) else costs[name].total(pictures)

    fastest = min(costs, key=lambda name: (costs[name].total(pictures), costs[name].steady))
    as_fast = [name for name in costs if time_for_work(name) <= time_for_work(fastest) * (1 + NEAR_TIE)]
    if any(costs[name].memory is None for name in as_fast):
        return fastest
    return min(as_fast, key=lambda name: (costs[name].memory, time_for_work(name)))


def milliseconds_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def onnxruntime_optimized(path: Path) -> Path:
    """ONNX Runtime's optimized form of the compiled model, saved beside it the first time: loading it skips the
    graph optimisation that is most of ONNX Runtime's load. Its blocked layers suit this processor and this ONNX
    Runtime only, hence the key; where it cannot be made, the compiled model itself."""
    onnxruntime = ort.import_onnxruntime()
    key = hashlib.sha256(json.dumps([onnxruntime.__version__, processor_name(), platform.machine()]).encode()).hexdigest()
    optimized = runtime_copy_path(path, "onnxruntime", key)
    if optimized.is_file():
        return optimized
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        with atomic_output(optimized) as temporary:
            options.optimized_model_filepath = str(temporary)
            onnxruntime.InferenceSession(str(path), options, providers=[ort.CPU_PROVIDER])
    except Exception as error:  # ONNX Runtime raises its own exception types; the plain compiled model still runs
        log.info("ONNX Runtime could not save its optimized model (%s): loading the compiled one", error_reason(error))
        return path
    return optimized


def model_for(name: str, path: Path, backend: str) -> Path:
    """The file engine `name` loads for the compiled model `path`: for ONNX Runtime on the CPU, its optimized form."""
    return onnxruntime_optimized(path) if name == "onnxruntime" and backend == "cpu" else path


def load_compiled(name: str, path: Path, size: int, backend: str, precision: str = "fp32") -> Engine:
    return ENGINES[name](model_for(name, path, backend), size, backend, precision)


def measure_engines(path: Path, size: int, backend: str, candidates: tuple[str, ...]) -> tuple[dict[str, Engine], dict[str, EngineCost]]:
    """Each candidate loaded and timed: its load, its first forward, then the median of interleaved rounds of
    forwards, so that a burst of other work on the machine falls on every engine alike."""
    sample = np.zeros((1, 1, size, size), np.float32)
    engines, load, first = {}, {}, {}
    models = {name: model_for(name, path, backend) for name in candidates}  # made once, not part of a load
    memory: dict[str, float | None] = {}
    for name in candidates:
        before = resident_mib()
        started = time.perf_counter()
        engines[name] = ENGINES[name](models[name], size, backend)
        load[name] = milliseconds_since(started)
        started = time.perf_counter()
        engines[name].forward(sample)
        first[name] = milliseconds_since(started)
        after = resident_mib()
        memory[name] = None if before is None or after is None else max(0.0, after - before)
    later: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(MEASURED_ROUNDS):
        for name, engine in engines.items():
            started = time.perf_counter()
            engine.forward(sample)
            later[name].append(milliseconds_since(started))
    return engines, {
        name: EngineCost(load[name], first[name], statistics.median(later[name]), memory[name]) for name in candidates
    }


def read_records(record_path: Path) -> dict:
    try:
        records = json.loads(record_path.read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def recorded_measurements(record, candidates: tuple[str, ...]) -> list[dict[str, EngineCost]]:
    """The complete, well-formed measurements of a record (anything else in it is ignored, as if never measured)."""
    measurements = []
    for measurement in record.get("measurements", []) if isinstance(record, dict) else []:
        try:
            measurements.append({name: EngineCost(**measurement[name]) for name in candidates})
        except (KeyError, TypeError):
            continue
    return measurements


def median_costs(measurements: list[dict[str, EngineCost]]) -> dict[str, EngineCost]:
    """Each engine's cost, each part the median over the measurements: one taken on a busy machine does not decide.
    Memory is the median of the measurements that have it (older records do not)."""
    def median_memory(name: str) -> float | None:
        known = [m[name].memory for m in measurements if m[name].memory is not None]
        return statistics.median(known) if known else None

    return {
        name: EngineCost(
            *(statistics.median(getattr(m[name], part) for m in measurements) for part in ("load", "first", "steady")),
            median_memory(name),
        )
        for name in measurements[0]
    }


class EngineChoiceRecord:
    """The engine measurements of one compiled model on this machine, kept beside it in ENGINE_CHOICE_FILE (one
    entry per machine description; deleting the file measures again)."""

    def __init__(self, path: Path, candidates: tuple[str, ...]):
        self.path = path.parent / ENGINE_CHOICE_FILE
        self.model = path
        self.description = machine_description(path, candidates)
        record = read_records(self.path).get(self.description)
        self.measurements = recorded_measurements(record, candidates)
        self.remeasure = record.get("remeasure") if isinstance(record, dict) else ""
        """Why a run asked for a new measurement; empty when none did."""

    def update(self, **changes) -> None:
        """Rewrite this machine's entry (dropping entries of compiled models that are gone); a failure is only said."""
        records = {
            key: value for key, value in read_records(self.path).items()
            if isinstance(value, dict) and (self.path.parent / str(value.get("model", ""))).is_file()
        }
        entry = records.get(self.description) if isinstance(records.get(self.description), dict) else {}
        records[self.description] = {**entry, "model": self.model.name, **changes}
        try:
            write_bytes_atomically(self.path, json.dumps(records, indent=1, sort_keys=True).encode())
        except OSError as error:
            log.info("cannot remember the engine measurement in %s (%s)", display_path(self.path), error.strerror or error)

    def add(self, measurement: dict[str, EngineCost]) -> None:
        self.measurements = [*self.measurements, measurement][-KEPT_MEASUREMENTS:]
        self.update(measurements=[{name: asdict(cost) for name, cost in m.items()} for m in self.measurements], remeasure="")

    def ask_to_remeasure(self, reason: str) -> None:
        log.info("engine: %s: measuring the engines again on the next start", reason)
        self.update(remeasure=reason)


class ForwardTimes:
    """An engine's forwards in this process, timed where they run (its methods wrapped on the instance, so it keeps
    its type): for -v's start-up breakdown, and to check the engine measurement against what really happens."""

    def __init__(self, engine: Engine, first_done: bool = False):
        self.first_done = first_done
        """True when the first forward ran while loading (measuring the engines), so none here is the first."""
        self.seconds: list[float] = []
        """Per picture, one entry per forward call."""
        self.checks: list = []
        for method_name in ("forward", "forward_scores"):
            setattr(engine, method_name, self.timed(getattr(engine, method_name)))
        engine.forward_times = self

    def timed(self, method):
        def timed_forward(centred_lightness: np.ndarray) -> np.ndarray:
            started = time.perf_counter()
            output = method(centred_lightness)
            self.seconds.append((time.perf_counter() - started) / max(1, len(centred_lightness)))
            for check in list(self.checks):
                check(self)
            return output

        return timed_forward

    @property
    def first_seconds(self) -> float | None:
        return None if self.first_done or not self.seconds else self.seconds[0]

    @property
    def later_seconds(self) -> list[float]:
        return self.seconds if self.first_done else self.seconds[1:]


def check_against(record: EngineChoiceRecord, costs: dict[str, EngineCost], name: str, pictures: float, times: ForwardTimes) -> None:
    """Compare this run's first forward, and the median of its next STEADY_SAMPLE, with the measurement: when one
    is DISAGREEMENT times slower than measured and, put in the measurement's place, would have made another engine
    the choice for this work, the measurement no longer describes this machine (taken when it was quiet, or the
    machine has changed), and the next start measures again. A run merely slowed along with every engine keeps it."""
    pending = ["first", "steady"]

    def check(times: ForwardTimes) -> None:
        if pending[0] == "first":
            observed = times.first_seconds
        elif len(times.later_seconds) >= STEADY_SAMPLE:
            observed = statistics.median(times.later_seconds)
        else:
            return
        part = pending.pop(0)
        recorded = getattr(costs[name], part)
        observed *= 1000
        if observed > recorded * DISAGREEMENT and cheapest({**costs, name: replace(costs[name], **{part: observed})}, pictures) != name:
            what = "first forward took" if part == "first" else "forwards take"
            record.ask_to_remeasure(f"{name}'s {what} {observed:.0f} ms here against {recorded:.0f} ms measured")
            pending.clear()
        if not pending:
            times.checks.remove(check)

    times.checks.append(check)


def chosen_engine(path: Path, size: int, backend: str, candidates: tuple[str, ...], workload: "str | float") -> Engine:
    """The candidate that puts the workload's pictures through soonest here, by the measurement beside the compiled
    model (taken the first time, again when a run disagrees with it); -v says why."""
    pictures = expected_pictures(workload)
    record = EngineChoiceRecord(path, candidates)
    measured = None
    if record.measurements and not record.remeasure:
        costs = median_costs(record.measurements)
        name = cheapest(costs, pictures)
        engine = load_compiled(name, path, size, backend)
        times = ForwardTimes(engine)
    else:
        engines, measured = measure_engines(path, size, backend, candidates)
        record.add(measured)
        costs = median_costs(record.measurements)
        name = cheapest(costs, pictures)
        engine = engines.pop(name)
        engines.clear()
        times = ForwardTimes(engine, first_done=True)
    count = "an open-ended run" if math.isinf(pictures) else f"{pictures:g} picture{'s' if pictures != 1 else ''}"
    kind = f" ({workload})" if isinstance(workload, str) else ""
    log.info(
        "engine: %s for %s%s: %s; medians of %d measurement(s)%s in %s",
        name, count, kind, "; ".join(f"{other} {costs[other].summary(pictures)}" for other in sorted(costs, key=lambda n: n != name)),
        len(record.measurements), ", one just now" if measured else "", display_path(record.path),
    )
    if measured is None:
        check_against(record, costs, name, pictures, times)
    return engine


def load_engine(
    files: ModelFiles,
    engine: str = "auto",
    backend: str = "auto",
    scale: float = RELEASE_SCALE,
    size: int = DEFAULT_SIZE,
    workload: "str | float" = DEFAULT_WORKLOAD,
    precision: str = "fp32",
) -> Engine:
    """The engine asked for (`auto`: see auto_candidates and chosen_engine), loaded with these files, annealing scale
    and input size, its forwards timed (`engine.forward_times`)."""
    if engine not in ENGINE_CHOICES:
        raise ColorizationError(f"unknown engine {engine!r}: choose one of {', '.join(ENGINE_CHOICES)}")
    if backend not in BACKENDS:
        raise ColorizationError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    check_precision(precision)
    expected_pictures(workload)
    files.check()
    loaded = build_engine(files, engine, backend, scale, size, workload, precision)
    if not hasattr(loaded, "forward_times"):
        ForwardTimes(loaded)
    log.info("engine: %s", loaded.description)
    return loaded


def build_engine(
    files: ModelFiles, engine: str, backend: str, scale: float, size: int, workload: "str | float", precision: str
) -> Engine:
    if engine == "caffe":
        return CaffeEngine(files, scale, opencv_backend_for(backend), precision)
    if engine == "onnxruntime" and ort.import_onnxruntime() is None:
        raise ColorizationError(ort.MISSING)
    if engine == "openvino" and openvino.import_openvino() is None:
        raise ColorizationError(openvino.MISSING)
    requested = backend
    if engine == "auto":
        candidates, backend = auto_candidates(backend, precision)
        if len(candidates) > 1 and precision != "fp32":
            precision = precision_unavailable(precision, AUTO_PRECISION_REASON[precision])
    elif engine == "openvino":
        candidates = (engine,)
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
        return CaffeEngine(files, scale, opencv_backend_for(requested), precision)
    if len(candidates) > 1:
        return chosen_engine(path, size, backend, candidates, workload)
    return load_compiled(candidates[0], path, size, backend, precision)
