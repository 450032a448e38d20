"""What every engine is: the one contract the pipeline relies on, whichever runtime runs the network."""
from __future__ import annotations

import contextlib
import logging
import re
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
    device: str
    """Where it runs, for people: "CPU", "CUDA (NVIDIA GPU, FP32)", ..."""
    description: str
    """What runs it, in one line: runtime, version and device."""

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray: ...

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray: ...


log = logging.getLogger("colorization")

PRECISIONS = ("fp32", "bf16", "fp16")
"""The arithmetic of the forward pass: fp32 is the reference; the reduced ones run where an engine and device have them."""
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
    if precision not in PRECISIONS:
        raise ColorizationError(f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}")
    return precision


PRECISION_REASON = "precision_reason"
"""The attribute of precision_unavailable's log record that holds its reason."""


def precision_unavailable(precision: str, reason: str) -> str:
    """Say once, at load, that a reduced precision cannot run here; the engine then runs the reference fp32."""
    log.warning("warning: --precision %s asked for, but %s: running fp32", precision, reason, extra={PRECISION_REASON: reason})
    return "fp32"


@contextlib.contextmanager
def unavailable_precision_reasons():
    """The reasons precision_unavailable gives while loading, kept instead of printed: for a caller that will not go
    on in fp32 and says why in its own one line. They are kept even when the verbosity hides warnings (-q), and
    only they: the other records are let through as the verbosity says."""
    reasons: list[str] = []
    level, shown = log.level, log.getEffectiveLevel()

    def keep(record: logging.LogRecord) -> bool:
        reason = getattr(record, PRECISION_REASON, None)
        if reason is not None:
            reasons.append(reason)
        return reason is None and record.levelno >= shown

    log.addFilter(keep)
    log.setLevel(min(shown, logging.WARNING))
    try:
        yield reasons
    finally:
        log.setLevel(level)
        log.removeFilter(keep)


def thread_count() -> int:
    """The runtimes other than cv2.dnn get as many threads as cv2.dnn (by default one per core this process may
    use), so that cv2.setNumThreads is the one knob for all of them."""
    return max(1, cv2.getNumThreads())
