"""The evaluation numbers against values worked out by hand on tiny arrays."""

import math

import numpy as np
import pytest

from colorization import metrics


def test_psnr_by_hand():
    truth = np.zeros((2, 2))
    estimate = np.array([[0.0, 0.0], [0.0, 2.0]])
    # MSE = 2^2 / 4 = 1, so PSNR = 10 log10(peak^2 / 1).
    assert metrics.psnr(estimate, truth, peak=2.0) == pytest.approx(10 * math.log10(4.0))
    assert metrics.psnr(estimate, truth, peak=255.0) == pytest.approx(10 * math.log10(255.0**2))
    assert metrics.psnr(truth, truth, peak=1.0) == math.inf


def test_ssim_of_identical_pictures_is_one():
    picture = np.random.default_rng(0).uniform(0, 1, (20, 20, 3))
    assert metrics.ssim(picture, picture, 1.0) == pytest.approx(1.0)


def test_ssim_of_two_flat_pictures_by_hand():
    # No variance anywhere: SSIM = (2 mx my + C1) / (mx^2 + my^2 + C1), C1 = (0.01 peak)^2.
    first, second = np.full((20, 20), 0.2), np.full((20, 20), 0.6)
    expected = (2 * 0.2 * 0.6 + 1e-4) / (0.2**2 + 0.6**2 + 1e-4)
    assert metrics.ssim(first, second, 1.0) == pytest.approx(expected, rel=1e-6)
    # Colour pictures average their channels: one channel equal (1), one as above, one the same.
    first3 = np.dstack([first, first, first])
    second3 = np.dstack([first, second, second])
    assert metrics.ssim(first3, second3, 1.0) == pytest.approx((1 + 2 * expected) / 3, rel=1e-6)


def test_ssim_falls_as_noise_grows():
    rng = np.random.default_rng(1)
    picture = rng.uniform(0.2, 0.8, (32, 32))
    values = [metrics.ssim(picture, picture + rng.normal(0, sigma, picture.shape), 1.0) for sigma in (0.01, 0.05, 0.2)]
    assert 1 > values[0] > values[1] > values[2]


def test_colourfulness_by_hand():
    # One red pixel, one black: rg = (255, 0), yb = (127.5, 0); population std and mean both (127.5, 63.75).
    bgr = np.array([[[0, 0, 255], [0, 0, 0]]], np.uint8)
    spread = math.hypot(127.5, 63.75)
    assert metrics.colourfulness(bgr) == pytest.approx(spread + 0.3 * spread)
    # A flat colour has no spread: only 0.3 x the mean opponent colour, here pure blue: rg = 0, yb = -255.
    assert metrics.colourfulness(np.full((3, 3, 3), (255, 0, 0), np.uint8)) == pytest.approx(0.3 * 255)
    assert metrics.colourfulness(np.full((4, 4, 3), 128, np.uint8)) == 0


def test_edge_region_is_a_band_around_lightness_steps():
    lightness = np.zeros((20, 40), np.float32)
    lightness[:, 20:] = 80
    band = metrics.edge_region(lightness, band=3)
    columns = np.flatnonzero(band[10])
    assert columns.min() >= 20 - 1 - 3 and columns.max() <= 20 + 3
    assert band[:, :14].sum() == 0 and band[:, 26:].sum() == 0
    assert not metrics.edge_region(np.full((20, 40), 50, np.float32)).any()


def test_ab_rmse_inside_a_mask_by_hand():
    truth = np.zeros((2, 2, 2))
    estimate = np.zeros((2, 2, 2))
    estimate[0, 0] = (3, 4)
    mask = np.array([[True, False], [False, False]])
    # Over the whole picture: mean of squares = (9 + 16) / 8; inside the mask: (9 + 16) / 2.
    assert metrics.ab_rmse(estimate, truth) == pytest.approx(math.sqrt(25 / 8))
    assert metrics.ab_rmse(estimate, truth, mask) == pytest.approx(math.sqrt(25 / 2))


def test_difference_statistics_by_hand():
    # |difference| = 0 for 98 elements, 1 and 5 for the other two: mean 6/100; the 99th percentile lies between the
    # 99th and 100th sorted values (1 and 5) at 1% of the way, as numpy interpolates: 1 + 0.01 * 4.
    first = np.zeros((10, 5, 2))
    second = first.copy()
    second[3, 2, 1] = -1
    second[7, 4, 0] = 5
    statistics = metrics.difference_statistics(first, second)
    assert statistics.mean == pytest.approx(6 / 100)
    assert statistics.p99 == pytest.approx(1 + 0.01 * 4)
    assert statistics.max == 5
    # 8-bit pictures do not wrap around: 0 against 255 is 255 apart, whichever comes first.
    black, white = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 255, np.uint8)
    assert metrics.difference_statistics(black, white) == metrics.difference_statistics(white, black)
    assert metrics.difference_statistics(black, white).mean == 255
    assert metrics.difference_statistics(white, white) == metrics.DifferenceStatistics(0.0, 0.0, 0.0)
