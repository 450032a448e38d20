"""Loading the network into cv2.dnn (the Caffe files, or their compiled ONNX form) and choosing where it runs;
the only module that touches cv2.dnn."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import ColorizationError, ModelFileError
from .model_files import ModelFiles, display_path, load_points

log = logging.getLogger("colorization")

RELEASE_SCALE = 2.606
"""The release's annealing factor 1/T (T = 0.38): the softmax sharpening the authors shipped."""

OUTPUT_LAYER = "class8_ab"
SCALE_LAYER = "conv8_313_rh"
BACKENDS = ("auto", "cuda", "cuda-fp16", "opencl", "cpu")
OPENCV5_MESSAGE = (
    "OpenCV {version} has no Caffe importer (OpenCV 5 removed it): use --engine auto or onnx, "
    "or install a 4.x build with pip install 'opencv-contrib-python<5'"
)


def annealing_scale(temperature: float | None) -> float:
    """1/T; None keeps the release's exact 2.606 rather than 1/0.38 = 2.6316."""
    if temperature is None:
        return RELEASE_SCALE
    if not temperature > 0:
        raise ColorizationError(f"--temperature must be greater than 0, got {temperature}")
    return 1.0 / temperature


@dataclass(frozen=True)
class Backend:
    """Where cv2.dnn runs: the (backend, target) pair OpenCV takes, and a name for people."""

    name: str
    backend_id: int
    target_id: int

    def describe(self) -> str:
        return {
            "cuda": "CUDA (NVIDIA GPU, FP32)",
            "cuda-fp16": "CUDA (NVIDIA GPU, FP16)",
            "opencl": "OpenCL",
            "cpu": "CPU",
        }[self.name]


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


def choose_backend(requested: str = "auto") -> Backend:
    """Honour the request when this machine can; otherwise warn once and run on the CPU."""
    if requested not in BACKENDS:
        raise ColorizationError(f"unknown backend {requested!r}: choose one of {', '.join(BACKENDS)}")
    cpu = Backend("cpu", cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_CPU)
    if requested in ("auto", "cuda", "cuda-fp16"):
        if cuda_available():
            if requested == "cuda-fp16":
                return Backend("cuda-fp16", cv2.dnn.DNN_BACKEND_CUDA, cv2.dnn.DNN_TARGET_CUDA_FP16)
            return Backend("cuda", cv2.dnn.DNN_BACKEND_CUDA, cv2.dnn.DNN_TARGET_CUDA)
        if requested != "auto":
            log.warning(
                "warning: --backend %s asked for, but this OpenCV build has no CUDA DNN backend or no GPU is visible "
                "(pip wheels are built without CUDA): running on the CPU",
                requested,
            )
        return cpu
    if requested == "opencl":
        if opencl_available():
            return Backend("opencl", cv2.dnn.DNN_BACKEND_OPENCV, cv2.dnn.DNN_TARGET_OPENCL)
        log.warning("warning: --backend opencl asked for, but OpenCV finds no OpenCL device: running on the CPU")
    return cpu


def error_reason(error: Exception) -> str:
    """The last line of a library's error (OpenCV's are several lines of source locations): the part people read."""
    text = str(error).strip()
    return text.splitlines()[-1] if text else type(error).__name__


def caffe_importer_available() -> bool:
    return hasattr(cv2.dnn, "readNetFromCaffe")


def read_caffe_network(files: ModelFiles) -> "cv2.dnn.Net":
    if not caffe_importer_available():
        raise ColorizationError(OPENCV5_MESSAGE.format(version=cv2.__version__))
    files.check()
    try:
        net = cv2.dnn.readNetFromCaffe(str(files.prototxt.path), str(files.caffemodel.path))
    except cv2.error as error:
        raise ModelFileError(
            f"OpenCV could not read {display_path(files.prototxt.path)} with {display_path(files.caffemodel.path)} "
            f"({error_reason(error)}): check both files belong to the colorization model"
        ) from None
    layer_names = set(net.getLayerNames())
    for required in (OUTPUT_LAYER, SCALE_LAYER):
        if required not in layer_names:
            raise ModelFileError(
                f"{display_path(files.prototxt.path)} has no layer {required!r}: it is not a colorization model prototxt"
            )
    return net


class OpenCVNetwork:
    """What the two cv2.dnn engines share: one net bound to one backend, named in the log."""

    model_kind = ""

    def bind(self, net: "cv2.dnn.Net", backend: str) -> None:
        self.net = net
        self.backend = choose_backend(backend)
        net.setPreferableBackend(self.backend.backend_id)
        net.setPreferableTarget(self.backend.target_id)
        log.info("engine: %s", self.describe())

    @property
    def device(self) -> str:
        return self.backend.describe()

    def describe(self) -> str:
        return f"{self.model_kind} in cv2.dnn (OpenCV {cv2.__version__}), backend: {self.device}"


class ColorizationNetwork(OpenCVNetwork):
    """The Caffe net with the cluster centres and annealing scale installed, bound to one backend: the `caffe` engine.

    Every engine has this interface: `forward` takes L - 50 as an (N, 1, H, W) float32 blob and returns the
    annealed-mean ab as (N, 2, H/4, W/4); `device` says where it runs and `describe()` what runs it.
    """

    name = "caffe"
    model_kind = "Caffe model"

    def __init__(self, files: ModelFiles, backend: str = "auto", temperature: float | None = None):
        self.files = files
        self.scale = annealing_scale(temperature)
        net = read_caffe_network(files)
        points = load_points(files.points.path)
        net.getLayer(net.getLayerId(OUTPUT_LAYER)).blobs = [np.ascontiguousarray(points.T.reshape(2, points.shape[0], 1, 1))]
        net.getLayer(net.getLayerId(SCALE_LAYER)).blobs = [np.full((1, points.shape[0]), self.scale, np.float32)]
        self.bind(net, backend)

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        self.net.setInput(centred_lightness)
        return self.net.forward(OUTPUT_LAYER)


class OnnxNetwork(OpenCVNetwork):
    """The `onnx` engine: the compiled model (colorization.onnx_export) in cv2.dnn, on the same backends."""

    name = "onnx"
    model_kind = "ONNX model"

    def __init__(self, path: Path, size: int, backend: str = "auto"):
        self.size = size
        # OpenCV 5 has two engines: the classic one ran this model 10-25% faster than the new one (measured,
        # interleaved runs) and keeps the GPU backends, which the new one lacks.
        opencv_engine = (cv2.dnn.ENGINE_CLASSIC,) if hasattr(cv2.dnn, "ENGINE_CLASSIC") else ()
        try:
            net = cv2.dnn.readNetFromONNX(str(path), *opencv_engine)
        except cv2.error as error:
            raise ModelFileError(
                f"OpenCV could not read the compiled model {display_path(path)} ({error_reason(error)}): delete it to rebuild it"
            ) from None
        self.bind(net, backend)

    def forward(self, centred_lightness: np.ndarray) -> np.ndarray:
        check_input_size(centred_lightness, self.size)
        self.net.setInput(centred_lightness)
        return self.net.forward()


def check_input_size(blob: np.ndarray, size: int) -> None:
    """A compiled model has one input size: say so plainly instead of a runtime's shape error."""
    if blob.shape[2:] != (size, size):
        raise ColorizationError(
            f"the compiled model takes {size}x{size} input, not {blob.shape[3]}x{blob.shape[2]}: load one for that size"
        )
