"""The release-shaped model files the test support writes (tests/support/release_model.py) are the release's: the
full-architecture tests run on them in any clone, so they must be what the authentic files describe."""

import numpy as np

from colorization import Colorizer
from colorization.caffe_format import first, parse_prototxt
from colorization.model import CLUSTER_COUNT
from tests.support.release_model import gamut_ab_bins, release_prototxt_text

CONVOLUTION_DEFAULTS = {"pad": 0, "stride": 1, "dilation": 1, "bias_term": True}


def architecture(prototxt_text: str) -> list[tuple]:
    """Each layer as what it computes: name, type, inputs, outputs and its parameters with Caffe's defaults filled in."""
    layers = []
    for layer in parse_prototxt(prototxt_text)["layer"]:
        convolution = first(layer, "convolution_param")
        parameters = {}
        if convolution is not None:
            parameters = {**CONVOLUTION_DEFAULTS, **{key: first(convolution, key) for key in convolution}}
        scale = first(layer, "scale_param")
        if scale is not None:
            parameters = {"bias_term": first(scale, "bias_term"), "value": first(first(scale, "filler"), "value")}
        shape = first(layer, "input_param")
        if shape is not None:
            parameters = {"shape": first(shape, "shape")["dim"]}
        layers.append(
            (first(layer, "name"), first(layer, "type"), layer.get("bottom", []), layer.get("top", []), parameters)
        )
    return layers


def test_the_written_prototxt_is_the_authentic_architecture_layer_for_layer(reference_files):
    authentic = architecture(reference_files["prototxt"].read_text())
    written = architecture(release_prototxt_text())
    assert len(written) == len(authentic) == 57
    for ours, theirs in zip(written, authentic):
        assert ours == theirs


def test_the_written_points_are_release_like_and_nearly_all_the_authentic_bins(reference_files):
    points = gamut_ab_bins()
    authentic = np.load(reference_files["points"])
    assert points.dtype == authentic.dtype and points.shape == authentic.shape == (CLUSTER_COUNT, 2)
    shared = set(map(tuple, points.tolist())) & set(map(tuple, authentic.tolist()))
    assert len(shared) >= 305, f"only {len(shared)} of the 313 bins are the release's"


def test_the_written_points_are_313_distinct_bins_of_the_sRGB_gamut():
    points = gamut_ab_bins()
    assert points.shape == (CLUSTER_COUNT, 2) and points.dtype == np.int64
    assert len(set(map(tuple, points.tolist()))) == CLUSTER_COUNT
    assert not (points % 10).any() and np.abs(points).max() <= 120
    assert points.tolist() == sorted(points.tolist()), "ordered by a, then b, as the release's"
    assert [0, 0] in points.tolist() and [20, 30] in points.tolist()


def test_the_release_architecture_runs_as_the_release_does(release_architecture):
    colorizer = Colorizer.load(**release_architecture, engine="caffe", upsample="bilinear")
    blob = np.random.default_rng(0).uniform(-50, 50, (1, 1, 224, 224)).astype(np.float32)
    assert colorizer.engine.forward(blob).shape == (1, 2, 56, 56)
    assert colorizer.engine.forward_scores(blob).shape == (1, CLUSTER_COUNT, 56, 56)
