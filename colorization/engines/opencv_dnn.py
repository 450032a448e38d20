"""The engines that run in cv2.dnn: the Caffe files as released (`caffe`, the reference) and their compiled ONNX form
(`onnx`), on the CPU, CUDA or OpenCL; the only module that touches cv2.dnn."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import ColorizationError, ModelFileError
from ..model import MIN_SIZE, OUTPUT_LAYER, SCALE_LAYER, SCORES_LAYER
from ..model_files import ModelFiles, load_points
from ..paths import display_path
from .base import (
    AUTO,
    CPU,
    CUDA_FP16,
    CUDA_FP32,
    check_input_size,
    error_reason,
    fall_back_to_cpu,
    precision_unavailable,
)

log = logging.getLogger(__name__)

OPENCV5_MESSAGE = (
    "OpenCV {version} has no Caffe importer (OpenCV 5 removed it): use --engine auto or onnx, "
    "or install a 4.x build with pip install 'opencv-contrib-python<5'"
)
NO_OPENCV_CUDA = "this OpenCV build has no CUDA DNN backend or no GPU is visible (pip wheels are built without CUDA)"


@dataclass(frozen=True)
class Backend:
    """Where cv2.dnn runs: the (backend, target) pair OpenCV takes, and a name for people."""

    name: str
    backend_id: int
    target_id: int
    label: str


def opencv_backend(name: str) -> Backend:
    """The cv2.dnn pair for a backend the selector has found available."""
    dnn = cv2.dnn
    return {
        "cuda": lambda: Backend("cuda", dnn.DNN_BACKEND_CUDA, dnn.DNN_TARGET_CUDA, CUDA_FP32),
        "cuda-fp16": lambda: Backend("cuda-fp16", dnn.DNN_BACKEND_CUDA, dnn.DNN_TARGET_CUDA_FP16, CUDA_FP16),
        "opencl": lambda: Backend("opencl", dnn.DNN_BACKEND_OPENCV, dnn.DNN_TARGET_OPENCL, "OpenCL"),
        "cpu": lambda: Backend("cpu", dnn.DNN_BACKEND_OPENCV, dnn.DNN_TARGET_CPU, CPU),
    }[name]()


def cuda_available() -> bool:
    """True only when this OpenCV build has the CUDA DNN backend and sees a device."""
    try:
        return bool(cv2.dnn.getAvailableTargets(cv2.dnn.DNN_BACKEND_CUDA)) and cv2.cuda.getCudaEnabledDeviceCount() > 0
    except (AttributeError, cv2.error):
        return False


def opencl_available() -> bool:
    try:
        return bool(cv2.ocl.haveOpenCL())
    except (AttributeError, cv2.error):
        return False


def caffe_importer_available() -> bool:
    return hasattr(cv2.dnn, "readNetFromCaffe")


def opencv_backend_for(requested: str) -> str:
    """The backend cv2.dnn can honour here for the one asked for (`auto`: CUDA when this build has it, else the
    CPU; OpenCL only when asked for: on many machines it is no faster); a missing one is said once."""
    if requested in ("auto", "cuda", "cuda-fp16"):
        if cuda_available():
            return "cuda" if requested == "auto" else requested
        return "cpu" if requested == "auto" else fall_back_to_cpu(requested, NO_OPENCV_CUDA)
    if requested == "opencl" and not opencl_available():
        return fall_back_to_cpu(requested, "OpenCV finds no OpenCL device")
    return requested


def target_for(backend: str, precision: str) -> str:
    """The cv2.dnn target for a backend and --precision: fp16 is its CUDA FP16 target, its only reduced precision,
    taken on CUDA with `auto`; `cuda-fp16` asked for as a backend is fp16 whatever the precision."""
    if backend == "cuda" and precision in ("fp16", AUTO):
        return "cuda-fp16"
    return backend


def precision_fallback_for(target: str, precision: str) -> str | None:
    """Why `precision` does not run on this target (see base.precision_unavailable): only CUDA FP16 is reduced."""
    if target == "cuda-fp16":
        return None
    return precision_unavailable(precision, f"cv2.dnn runs {precision} only as fp16 on CUDA (bf16: --engine openvino)")


class OpenCVEngine:
    """What the two cv2.dnn engines share: one net bound to one backend."""

    name = ""
    model_kind = ""

    def bind(self, net: cv2.dnn.Net, backend: str, precision: str) -> None:
        """Run on the backend asked for, or the one that stands in for it here (see opencv_backend_for)."""
        backend = target_for(opencv_backend_for(backend), precision)
        self.precision_fallback = precision_fallback_for(backend, precision)
        self.net = net
        self.backend = opencv_backend(backend)
        self.precision = "fp16" if backend == "cuda-fp16" else "fp32"
        net.setPreferableBackend(self.backend.backend_id)
        net.setPreferableTarget(self.backend.target_id)

    @property
    def device(self) -> str:
        return self.backend.label

    @property
    def description(self) -> str:
        return f"{self.model_kind} in cv2.dnn (OpenCV {cv2.__version__}), backend: {self.device}, precision: {self.precision}"

    def run(self, centred_lightness: np.ndarray, layer: str) -> np.ndarray:
        self.net.setInput(centred_lightness)
        return self.net.forward(layer)


class CaffeEngine(OpenCVEngine):
    """The release files in cv2.dnn with the cluster centres and annealing scale installed, as OpenCV's sample does."""

    name = "caffe"
    model_kind = "Caffe model"

    def __init__(self, files: ModelFiles, scale: float, backend: str = "cpu", precision: str = "fp32"):
        """The reference: `auto` precision is fp32 here, whatever the device."""
        if not caffe_importer_available():
            raise ColorizationError(OPENCV5_MESSAGE.format(version=cv2.__version__))
        points = load_points(files.points.path)
        try:
            net = cv2.dnn.readNetFromCaffe(str(files.prototxt.path), str(files.caffemodel.path))
            layer_names = set(net.getLayerNames())
            missing = [layer for layer in (OUTPUT_LAYER, SCALE_LAYER, SCORES_LAYER) if layer not in layer_names]
            if not missing:  # getLayer creates the layers: a misspelt type fails here
                net.getLayer(net.getLayerId(OUTPUT_LAYER)).blobs = [
                    np.ascontiguousarray(points.T.reshape(2, points.shape[0], 1, 1))
                ]
                net.getLayer(net.getLayerId(SCALE_LAYER)).blobs = [np.full((1, points.shape[0]), scale, np.float32)]
        except cv2.error as error:
            raise ModelFileError(
                f"OpenCV could not read {display_path(files.prototxt.path)} with {display_path(files.caffemodel.path)} "
                f"({error_reason(error)}): check both files belong to the colorization model"
            ) from None
        if missing:
            raise ModelFileError(
                f"{display_path(files.prototxt.path)} has no layer {missing[0]!r}: it is not a colorization model prototxt"
            )
        self.bind(net, backend, "fp32" if precision == AUTO else precision)
        self.probe(files)

    def probe(self, files: ModelFiles) -> None:
        """One forward of the smallest input, now: cv2.dnn builds a Caffe net's layers only when it first runs, so a
        misspelt layer type or weights that do not fit the layers would otherwise load fine and fail on every picture."""
        try:
            self.run(np.zeros((1, 1, MIN_SIZE, MIN_SIZE), np.float32), OUTPUT_LAYER)
        except cv2.error as error:
            raise ModelFileError(
                f"OpenCV cannot run {display_path(files.prototxt.path)} with {display_path(files.caffemodel.path)} "
                f"({error_reason(error)}): check the prototxt (a misspelt layer type?) and that the weights belong to it"
            ) from None

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, OUTPUT_LAYER)

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray:
        return self.run(centred_lightness, SCORES_LAYER)


class OnnxEngine(OpenCVEngine):
    """The compiled model (colorization.onnx_convert) in cv2.dnn, on the same backends as the Caffe one."""

    name = "onnx"
    model_kind = "ONNX model"

    def __init__(self, path: Path, size: int, backend: str = "cpu", precision: str = "fp32"):
        self.size = size
        # OpenCV 5 has two engines: the classic one runs this model faster and keeps the GPU backends.
        opencv_engine = (cv2.dnn.ENGINE_CLASSIC,) if hasattr(cv2.dnn, "ENGINE_CLASSIC") else ()
        try:
            net = cv2.dnn.readNetFromONNX(str(path), *opencv_engine)
        except cv2.error as error:
            raise ModelFileError(
                f"OpenCV could not read the compiled model {display_path(path)} ({error_reason(error)}): delete it to rebuild it"
            ) from None
        self.bind(net, backend, precision)

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        return self.run(centred_lightness, OUTPUT_LAYER)

    def forward_scores(self, centred_lightness: np.ndarray) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        return self.run(centred_lightness, SCORES_LAYER)
