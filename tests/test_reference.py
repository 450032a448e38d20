"""Reference mode (upsample="bilinear", saturation 1) against OpenCV's own sample, on the full release architecture
with random weights."""
import os

import cv2
import numpy as np
import pytest

from colorization import Colorizer
from benchmarks import release_model
from conftest import REFERENCE_ENV
from benchmarks.opencv_sample import load_sample_network, sample_colorize, to_uint8


@pytest.fixture(scope="session")
def release_architecture(tmp_path_factory):
    """The authentic prototxt and points, with random weights of the release's shapes (made once per session)."""
    reference = os.environ.get(REFERENCE_ENV)
    if not reference:
        pytest.skip(f"set {REFERENCE_ENV} to the folder with the release prototxt and pts_in_hull.npy")
    return release_model.release_architecture(tmp_path_factory.mktemp("release"), reference)


def test_reference_mode_matches_the_opencv_sample(release_architecture, photos):
    ours = Colorizer.from_model_dir(**release_architecture, upsample="bilinear")
    sample = load_sample_network(*release_architecture.values())
    for photo in photos:
        expected = to_uint8(sample_colorize(sample, photo))
        actual = ours.colorize(photo)
        assert actual.shape == expected.shape
        assert np.abs(actual.astype(int) - expected.astype(int)).max() <= 1
        # Random weights still colour the picture: the comparison is not between two grey images.
        assert np.abs(cv2.cvtColor(actual, cv2.COLOR_BGR2Lab)[:, :, 1:].astype(int) - 128).mean() > 3


def test_default_model_dir_resolution_reaches_release_files(release_architecture, monkeypatch, tmp_path):
    """The release prototxt and points pass the pinned-size check from a model directory."""
    from colorization.model_files import ModelFiles, check_model_file

    monkeypatch.setenv("COLORIZE_MODEL_DIR", str(release_architecture["prototxt"].parent))
    files = ModelFiles.resolve()
    check_model_file(files.prototxt)
    check_model_file(files.points)
