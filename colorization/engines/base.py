"""What every engine is: the one contract the pipeline relies on, whichever runtime runs the network."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib.util
import logging
import platform
import re
import sys
from typing import Protocol

import cv2
import numpy as np

from ..errors import ColorizationError


class Engine(Protocol):
    """Runs the colorization network on a batch of centred lightness.

    `forward` takes L - 50 as an (N, 1, S, S) float32 blob and returns the annealed-mean ab as (N, 2, S/4, S/4);
    `forward_scores` returns the raw 313-bin scores (N, 313, S/4, S/4) before the annealing scale, so that a caller
    can decode them again at another temperature without running the network twice.
    """

    name: str
    precision: str
    """The arithmetic that runs: "fp32" (the reference), "bf16" or "fp16"."""
    precision_fallback: str | None
    """Why the reduced precision asked for does not run here (fp32 runs instead); None when it runs or none was."""

    @property
    def device(self) -> str:
        """Where it runs, for people: "CPU", "CUDA (NVIDIA GPU, FP32)", ..."""

    @property
    def description(self) -> str:
        """What runs it, in one line: runtime, version and device."""

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray: ...

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray: ...


log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "bf16", "fp16")
"""The arithmetic of the forward pass: fp32 is the reference; the reduced ones run where an engine and device have them."""
AUTO = "auto"
PRECISION_CHOICES = (AUTO, *PRECISIONS)
"""What --precision takes: `auto`, the default, lets the engine run the reduced precision its device has natively
(bf16 on CPUs with AVX512-BF16 or AMX in OpenVINO, fp16 on CUDA in cv2.dnn), else fp32; never for `caffe`."""
CPU = "CPU"
CUDA_FP32 = "CUDA (NVIDIA GPU, FP32)"
CUDA_FP16 = "CUDA (NVIDIA GPU, FP16)"


OPENCV_LOCATION = re.compile(r"^OpenCV\([^)]*\) \S+:\d+: error: \([^)]*\) |\s+in function '[^']*'$")
"""The source file, line, error code and function OpenCV wraps around its message."""


def error_reason(error: Exception) -> str:
    """The last line of a library's error (OpenCV's are several lines of source locations), without OpenCV's source
    location: the part people read."""
    text = str(error).strip()
    return OPENCV_LOCATION.sub("", text.splitlines()[-1]) if text else type(error).__name__


def check_input_size(blob: np.ndarray, size: int) -> None:
    """A compiled model has one input size: say so plainly instead of a runtime's shape error."""
    if blob.shape[2:] != (size, size):
        raise ColorizationError(
            f"the compiled model takes {size}x{size} input, not {blob.shape[3]}x{blob.shape[2]}: load one for that size"
        )


def check_precision(precision: str) -> str:
    if precision not in PRECISION_CHOICES:
        raise ColorizationError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISION_CHOICES)}")
    return precision


def installed(module: str) -> bool:
    """Whether a runtime is installed, found without importing it: importing one costs start-up time, and a run
    imports only the runtime it runs. A module set to None in sys.modules (how imports are blocked) is not."""
    if module in sys.modules:
        return sys.modules[module] is not None
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def fall_back_to_cpu(requested: str, *reasons: str) -> str:
    """Said once, at load: the backend asked for is not here, and the CPU runs instead."""
    log.warning("warning: --backend %s asked for, but %s: running on the CPU", requested, ", and ".join(reasons))
    return "cpu"


SAY_PRECISION_FALLBACKS: contextvars.ContextVar[bool] = contextvars.ContextVar("say_precision_fallbacks", default=True)
"""False while a caller that will not go on in fp32 loads engines: it reads each engine's precision_fallback and
says why in its own one line (colorize-eval --compare-precision, benchmarks/precision.py)."""


def precision_unavailable(precision: str, reason: str) -> str | None:
    """Why the reduced `precision` asked for cannot run here (the engine then runs the reference fp32), kept by the
    engine as its `precision_fallback`; None for fp32 and `auto`, where fp32 is simply what this engine and device
    run best and there is nothing to say."""
    return None if precision in ("fp32", AUTO) else reason


def say_precision_fallback(precision: str, reason: str | None) -> None:
    """Said once, at load, by the one who loads an engine (engines.choice.load_engine), unless the caller says it
    in its own words (precision_fallbacks_unsaid)."""
    if reason is not None and SAY_PRECISION_FALLBACKS.get():
        log.warning("warning: --precision %s asked for, but %s: running fp32", precision, reason)


@contextlib.contextmanager
def precision_fallbacks_unsaid():
    """Engines loaded in this block (in this thread or task) keep their precision_fallback without warning."""
    token = SAY_PRECISION_FALLBACKS.set(False)
    try:
        yield
    finally:
        SAY_PRECISION_FALLBACKS.reset(token)


def thread_count() -> int:
    """The runtimes other than cv2.dnn get as many threads as cv2.dnn (by default one per core this process may
    use), so that cv2.setNumThreads is the one knob for all of them."""
    return max(1, cv2.getNumThreads())


@functools.lru_cache(maxsize=1)
def cpu_info() -> dict[str, str]:
    """The first processor's entry of Linux's /proc/cpuinfo (name and flags); empty elsewhere."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def processor_name() -> str:
    return cpu_info().get("model name") or platform.processor() or platform.machine()


BF16_FLAGS = {"avx512_bf16": "AVX512-BF16", "amx_bf16": "AMX-BF16"}
"""The processor features that run bf16 natively (Linux's flag names -> Intel's), which OpenVINO's bf16 needs."""


def bf16_features() -> list[str]:
    """This processor's native bf16 features, for people (the engines table, the benchmarks); empty where the
    processor has none or the system does not say (OpenVINO then decides by its own reading)."""
    flags = cpu_info().get("flags", "").split()
    return [name for flag, name in BF16_FLAGS.items() if flag in flags]
