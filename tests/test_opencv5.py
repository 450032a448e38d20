"""OpenCV 5 has no Caffe importer: the toolkit must still work, through the ONNX engines.

These tests hold for any OpenCV. In the main suite (OpenCV 4.x) the importer is removed by monkeypatching;
CI also runs this file in a second environment with a real OpenCV 5 (.ci/run).
"""

import cv2
import numpy as np
import pytest

from colorization import Colorizer
from colorization.commands import colorize, running
from tests.support import DOMINANT_AB
from tests.support.tiny_model import model_arguments


@pytest.fixture
def without_caffe_importer(monkeypatch):
    monkeypatch.delattr(cv2.dnn, "readNetFromCaffe", raising=False)


def test_auto_picks_a_working_onnx_engine(without_caffe_importer, dominant_model, photos):
    colorizer = Colorizer.load(**dominant_model)
    assert colorizer.engine.name in ("onnx", "onnxruntime", "openvino")
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_onnx_in_this_opencv_colorizes(without_caffe_importer, dominant_model, photos):
    colorizer = Colorizer.load(**dominant_model, engine="onnx")
    assert colorizer.engine.description.startswith(f"ONNX model in cv2.dnn (OpenCV {cv2.__version__})")
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_colorize_script_works_and_caffe_engine_says_what_to_do(
    without_caffe_importer, dominant_model, photos, tmp_path, capsys
):
    picture = tmp_path / "old.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    assert running.run(colorize.main, ["-i", str(picture), "-q", *model_arguments(dominant_model)]) == running.EXIT_OK
    assert cv2.imread(str(tmp_path / "old_colorized.png")).shape == photos[0].shape
    arguments = ["-i", str(picture), "--overwrite", "--engine", "caffe", *model_arguments(dominant_model)]
    assert running.run(colorize.main, arguments) == running.EXIT_USAGE
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "has no Caffe importer" in error and "--engine auto or onnx" in error


def test_onnx_in_this_opencv_agrees_with_onnxruntime_on_the_release_architecture(release_architecture, photos):
    """With OpenCV 4.x the ONNX Runtime output is checked against the Caffe engine; here cv2.dnn against it."""
    onnx_colorizer = Colorizer.load(**release_architecture, engine="onnx")
    runtime = Colorizer.load(**release_architecture, engine="onnxruntime")
    prepared = [runtime.prepare(photo) for photo in photos[:2]]
    for expected, actual in zip(runtime.predict_ab(prepared), onnx_colorizer.predict_ab(prepared)):
        assert np.abs(expected).max() > 10
        assert np.abs(actual - expected).max() <= 0.5
