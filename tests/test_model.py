"""The model's constants and decoding, exactly: the L - 50 input, the annealing scale and the annealed mean, checked
as numbers rather than through a tolerance on whole pictures, so an off-by-one constant fails here without the
release files."""

import numpy as np
import pytest

from colorization import ColorizationError
from colorization.model import (
    CLUSTER_COUNT,
    RELEASE_SCALE,
    LightnessNormalisation,
    annealed_mean,
    annealing_scale,
    check_size,
)
from colorization.preparation import prepare, prepare_fast


def test_lightness_normalisation_centres_on_50_without_scaling():
    lightness = np.array([0.0, 25.0, 50.0, 100.0], np.float32)
    network_input = LightnessNormalisation.network_input(lightness)
    np.testing.assert_array_equal(network_input, [-50.0, -25.0, 0.0, 50.0])
    assert network_input.dtype == np.float32
    np.testing.assert_array_equal(LightnessNormalisation.lightness(network_input), lightness)


@pytest.mark.parametrize("dtype, full", [(np.uint8, 255), (np.uint16, 65535)])
@pytest.mark.parametrize("level, expected", [(1, 50.0), (0, -50.0)], ids=["white", "black"])
def test_white_gives_plus_50_and_black_minus_50_exactly(dtype, full, level, expected):
    """Through both ways of preparing a picture, for every layout a grey picture arrives in."""
    grey = np.full((40, 30), level * full, dtype)
    pictures = {"grey": grey, "bgr": np.dstack([grey] * 3), "bgra": np.dstack([grey] * 3 + [np.full_like(grey, 7)])}
    for name, picture in pictures.items():
        for prepared in (prepare(picture, 32), prepare_fast(picture, 32)):
            assert prepared.network_input.shape == (32, 32) and prepared.network_input.dtype == np.float32
            assert np.all(prepared.network_input == expected), name
            assert np.all(prepared.lightness == expected + 50.0), name


def test_annealing_scale_is_the_release_value_or_one_over_t():
    assert annealing_scale(None) == RELEASE_SCALE == 2.606
    assert annealing_scale(0.5) == 2.0 and annealing_scale(1.0) == 1.0
    for bad in (0.0, -0.38, float("nan")):
        with pytest.raises(ColorizationError, match="temperature"):
            annealing_scale(bad)


@pytest.mark.parametrize("size, ok", [(224, True), (32, True), (40, True), (24, False), (100, False), (225, False)])
def test_check_size(size, ok):
    if ok:
        assert check_size(size) == size
    else:
        with pytest.raises(ColorizationError, match="multiple of 8"):
            check_size(size)


def grid_points() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(-110, 110, (CLUSTER_COUNT, 2)).astype(np.int64)


def test_a_one_hot_distribution_gives_that_bins_centre_at_each_pixel():
    """Each pixel its own bin, a and b in their order: catches a transposed grid or swapped channels."""
    points = grid_points()
    height, width = 3, 5
    bins = np.arange(height * width).reshape(height, width) * 17 + 4
    scores = np.zeros((CLUSTER_COUNT, height, width), np.float32)
    rows, columns = np.indices((height, width))
    scores[bins, rows, columns] = 60.0
    ab = annealed_mean(scores, points, 1.0)
    assert ab.shape == (height, width, 2) and ab.dtype == np.float32 and ab.flags.c_contiguous
    np.testing.assert_allclose(ab, points[bins].astype(np.float32), atol=1e-4)


def test_temperature_one_is_the_plain_mean_and_scale_sharpens():
    points = grid_points()
    rng = np.random.default_rng(3)
    scores = rng.normal(0.0, 1.5, (CLUSTER_COUNT, 2, 4)).astype(np.float32)
    for scale in (1.0, RELEASE_SCALE):
        logits = scores.reshape(CLUSTER_COUNT, -1).astype(np.float64) * scale
        probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
        expected = (points.T.astype(np.float64) @ probabilities).T.reshape(2, 4, 2)
        np.testing.assert_allclose(annealed_mean(scores, points, scale), expected, atol=1e-3)


def test_huge_scores_do_not_overflow():
    """Confident logits (a float32 exp overflows past 88) still decode to their bin: the maximum is subtracted."""
    points = grid_points()
    scores = np.zeros((CLUSTER_COUNT, 2, 2), np.float32)
    scores[:, 0, 0] = 500.0
    scores[42, 0, 0] = 10000.0
    scores[7, 0, 1], scores[8, 0, 1] = 3000.0, 3000.0
    scores[:, 1, :] = -5000.0
    scores[100, 1, 0] = -4990.0
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ab = annealed_mean(scores, points, RELEASE_SCALE)
    assert np.isfinite(ab).all()
    np.testing.assert_allclose(ab[0, 0], points[42], atol=1e-4)
    np.testing.assert_allclose(ab[0, 1], (points[7] + points[8]) / 2, atol=1e-4)
    np.testing.assert_allclose(ab[1, 0], points[100], atol=1e-4)
    np.testing.assert_allclose(ab[1, 1], points.mean(axis=0), atol=1e-3)
