"""Reference mode (upsample="bilinear", saturation 1) against OpenCV's own sample, on the full release architecture
with random weights, with every engine."""

import numpy as np

from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8
from colorization import Colorizer
from tests.support.checks import mean_chroma

ENGINES = ["caffe", "onnx", "onnxruntime"]


def test_reference_mode_matches_the_opencv_sample_with_every_engine(release_architecture, photos):
    colorizers = {
        engine: Colorizer.load(**release_architecture, engine=engine, upsample="bilinear") for engine in ENGINES
    }
    sample = load_sample_network(*release_architecture.values())
    for photo in photos:
        expected = to_uint8(sample_colorize(sample, photo))
        for engine, ours in colorizers.items():
            actual = ours.colorize(photo)
            assert actual.shape == expected.shape
            difference = np.abs(actual.astype(int) - expected.astype(int))
            # Float rounding moves a sample across a rounding boundary now and then; truncating instead of
            # rounding, or an input off by one L, moves most of them.
            assert difference.max() <= 1 and np.count_nonzero(difference) < 0.001 * difference.size, engine
            # Random weights still colour the picture: the comparison is not between two grey images.
            assert mean_chroma(actual) > 3


def test_default_model_dir_resolution_reaches_release_files(reference_files, monkeypatch, tmp_path):
    """The authentic prototxt and points pass the pinned size and hash checks from a model directory."""
    from colorization.model_files import ModelFiles, check_model_file

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(reference_files["prototxt"].parent))
    files = ModelFiles.resolve()
    check_model_file(files.prototxt)
    check_model_file(files.points)
