"""How far a hint's colour goes: over its region up to the edges, nowhere else, the same from a preview as at full
size, and nothing at all without hints."""

import cv2
import numpy as np
import pytest

from colorization import Colorizer
from colorization.hint_spreading import apply_hints, working_lightness
from colorization.hints import Hint
from colorization.preparation import prepare
from tests.support.checks import grey_picture

TARGET = "#2e8b57"
"""Sea green: far from the tiny model's warm DOMINANT_AB, and inside sRGB at the dark region's lightness."""


def two_regions(width=320, height=240, left=35.0, right=65.0, split=0.47) -> np.ndarray:
    """Two flat regions of different lightness split by a sharp vertical edge (off the colour cells' grid)."""
    lightness = np.full((height, width), right, np.float32)
    lightness[:, : int(width * split)] = left
    return grey_picture(lightness)


def ab_of(picture: np.ndarray) -> np.ndarray:
    lab = cv2.cvtColor(picture.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)
    return lab[:, :, 1:]


def target_ab() -> np.ndarray:
    return np.array(Hint(0, 0, TARGET).ab, np.float32)


def test_a_hint_colours_its_region_and_stops_at_the_edge(dominant_model):
    """The issue's edge check: >= 90% of the hinted region within delta E 10 of the colour, the other region's ab
    moved by less than 2 on average."""
    colorizer = Colorizer.load(**dominant_model, download=False)
    picture = two_regions()
    cut = int(picture.shape[1] * 0.47)
    automatic = ab_of(colorizer.colorize(picture))
    hinted = ab_of(colorizer.colorize(picture, [Hint(0.2, 0.5, TARGET, fraction=True)]))
    distance = np.linalg.norm(hinted[:, :cut] - target_ab(), axis=2)
    assert (distance < 10).mean() >= 0.9
    assert np.linalg.norm(hinted[:, cut:] - automatic[:, cut:], axis=2).mean() < 2
    assert np.linalg.norm(automatic[:, :cut] - target_ab(), axis=2).min() > 30, "the net alone is far from the hint"


def test_a_weaker_edge_still_stops_it(dominant_model):
    colorizer = Colorizer.load(**dominant_model, download=False)
    picture = two_regions(left=40.0, right=55.0)
    cut = int(picture.shape[1] * 0.47)
    automatic = ab_of(colorizer.colorize(picture))
    hinted = ab_of(colorizer.colorize(picture, [Hint(0.2, 0.5, TARGET, fraction=True)]))
    assert (np.linalg.norm(hinted[:, :cut] - target_ab(), axis=2) < 10).mean() >= 0.9
    assert np.linalg.norm(hinted[:, cut:] - automatic[:, cut:], axis=2).mean() < 2


def test_a_region_of_the_same_lightness_elsewhere_keeps_its_colour(dominant_model):
    """Bands L 40 | 55 | 40: a hint in the left band leaves the middle band and the right band (the hint's own
    lightness, but another region) as they were: colour follows regions, not lightness."""
    colorizer = Colorizer.load(**dominant_model, download=False)
    lightness = np.full((240, 320), 40.0, np.float32)
    lightness[:, 96:224] = 55.0
    picture = grey_picture(lightness)
    automatic = ab_of(colorizer.colorize(picture))
    hinted = ab_of(colorizer.colorize(picture, [Hint(0.15, 0.5, TARGET, fraction=True)]))
    assert (np.linalg.norm(hinted[:, :96] - target_ab(), axis=2) < 10).mean() >= 0.9
    for band in (slice(96, 224), slice(224, None)):
        assert np.linalg.norm(hinted[:, band] - automatic[:, band], axis=2).mean() < 2


def grid(value=(20.0, 30.0), cells=56) -> np.ndarray:
    return np.tile(np.array(value, np.float32), (cells, cells, 1))


def test_no_hints_leave_the_prediction_exactly():
    ab = np.random.default_rng(0).uniform(-50, 50, (56, 56, 2)).astype(np.float32)
    assert apply_hints(ab, [], prepare(two_regions()).lightness) is ab


def test_the_hint_point_takes_the_hints_colour_and_lightness_plays_no_part():
    lightness = prepare(two_regions()).lightness
    for colour in ("#2e8b57", "#9fdfbf", "#0b2e1c"):  # one hue and chroma... at three lightnesses
        result = apply_hints(grid(), [Hint(0.2, 0.5, colour, fraction=True)], lightness)
        assert result[28, 8] == pytest.approx(Hint(0, 0, colour).ab, abs=0.5)


def test_pixels_and_fractions_give_the_same_colour():
    lightness = prepare(two_regions()).lightness
    in_pixels = apply_hints(grid(), [Hint(63, 119, TARGET), Hint(250, 10, "navy")], lightness)
    in_fractions = apply_hints(
        grid(),
        [Hint(63.5 / 320, 119.5 / 240, TARGET, fraction=True), Hint(250.5 / 320, 10.5 / 240, "navy", fraction=True)],
        lightness,
    )
    assert np.array_equal(in_pixels, in_fractions)


def test_a_preview_gives_the_full_size_colour():
    """The web page renders from a screen-sized preview: hints in the photo's pixels must land and spread the same."""
    full = cv2.resize(two_regions(), (2000, 1500), interpolation=cv2.INTER_NEAREST)
    full_lightness = prepare(full).lightness
    preview_lightness = cv2.resize(full_lightness, (512, 384), interpolation=cv2.INTER_AREA)
    hints = [Hint(400, 750, TARGET), Hint(1800, 200, "#4682b4", radius=300)]
    at_full = apply_hints(grid(), hints, full_lightness)
    from_preview = apply_hints(grid(), hints, preview_lightness, picture_size=(2000, 1500))
    assert np.abs(at_full - from_preview).max() < 1.0
    assert np.abs(at_full - grid()).max() > 30, "the hints did something"


def test_two_hints_in_one_region_each_keep_their_side():
    lightness = np.full((240, 320), 50, np.float32)
    result = apply_hints(
        grid(), [Hint(0.1, 0.5, "#2e8b57", fraction=True), Hint(0.9, 0.5, "#b22222", fraction=True)], lightness
    )
    assert result[28, 3] == pytest.approx(Hint(0, 0, "#2e8b57").ab, abs=3)
    assert result[28, 52] == pytest.approx(Hint(0, 0, "#b22222").ab, abs=3)


def test_a_radius_keeps_a_hint_near_its_point():
    lightness = np.full((240, 320), 50, np.float32)
    everywhere = apply_hints(grid(), [Hint(0.1, 0.5, TARGET, fraction=True)], lightness)
    near = apply_hints(grid(), [Hint(0.1, 0.5, TARGET, radius=0.05, fraction=True)], lightness)
    assert everywhere[28, 50] == pytest.approx(target_ab(), abs=1), "without a radius it fills the flat picture"
    assert near[28, 50] == pytest.approx(grid()[28, 50], abs=0.5), "with one it stays near its point"
    assert near[28, 5] == pytest.approx(target_ab(), abs=6)


def test_texture_does_not_stop_a_hint_but_an_edge_does():
    """Grain a few grey levels deep is smoothed away before the spreading; a region boundary is not."""
    rng = np.random.default_rng(1)
    lightness = np.full((240, 320), 40, np.float32) + rng.normal(0, 3, (240, 320)).astype(np.float32)
    lightness[:, 200:] += 30
    result = apply_hints(grid(), [Hint(0.05, 0.5, TARGET, fraction=True)], lightness)
    assert np.linalg.norm(result[:, :30] - target_ab(), axis=2).mean() < 5
    assert np.linalg.norm(result[:, 40:] - grid()[:, 40:], axis=2).mean() < 1
    assert working_lightness(lightness).shape == (96, 128)


def test_hints_with_and_without_a_radius_at_one_place_share_it():
    lightness = np.full((60, 80), 50, np.float32)
    result = apply_hints(grid(), [Hint(40, 30, "#2e8b57"), Hint(40, 30, "#4682b4", radius=10)], lightness)
    expected = (np.array(Hint(0, 0, "#2e8b57").ab) + np.array(Hint(0, 0, "#4682b4").ab)) / 2
    assert result[28, 28] == pytest.approx(expected, abs=1)


@pytest.mark.parametrize("shape", [(1, 1), (1, 500), (500, 1), (3, 3), (5000, 3)])
def test_pictures_of_any_shape(shape):
    lightness = np.random.default_rng(0).uniform(0, 100, shape).astype(np.float32)
    result = apply_hints(grid(), [Hint(0.5, 0.5, "#2e8b57", fraction=True), Hint(0, 0, "navy", radius=2)], lightness)
    assert np.isfinite(result).all() and np.abs(result).max() < 128
