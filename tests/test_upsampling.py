"""ab upsampling: bilinear stays the exact reference, guided keeps colour edges where the lightness has them."""

import cv2
import numpy as np
import pytest

from colorization import ColorizationError, Colorizer, metrics, upsampling
from colorization.commands import arguments as command_arguments
from colorization.composition import upsample_ab
from colorization.upsampling import DEFAULT_UPSAMPLE, Upsampling

HEIGHT, WIDTH, EDGE = 300, 400, 173
"""A picture 400 wide has 7.1 pixels per colour cell; column 173 is inside a cell, not on a cell border."""
LEFT_AB, RIGHT_AB = (40.0, 20.0), (-30.0, -10.0)


def sharp_edge():
    """Dark red-orange left of EDGE, light blue-green right of it: L and ab change at the same column."""
    lightness = np.where(np.arange(WIDTH) < EDGE, 30, 70).astype(np.float32)[None, :].repeat(HEIGHT, 0)
    truth = np.zeros((HEIGHT, WIDTH, 2), np.float32)
    truth[:, :EDGE] = LEFT_AB
    truth[:, EDGE:] = RIGHT_AB
    return lightness, truth, cv2.resize(truth, (56, 56), interpolation=cv2.INTER_AREA)


def transition_width(a_row):
    """Pixels whose a lies between 10% and 90% of the way from one side's colour to the other's."""
    span = LEFT_AB[0] - RIGHT_AB[0]
    return np.count_nonzero((a_row < LEFT_AB[0] - 0.1 * span) & (a_row > RIGHT_AB[0] + 0.1 * span))


def test_guided_keeps_a_colour_edge_much_sharper_than_bilinear():
    lightness, truth, coarse = sharp_edge()
    bilinear = upsample_ab(coarse, WIDTH, HEIGHT, "bilinear", lightness)
    guided = upsample_ab(coarse, WIDTH, HEIGHT, "guided", lightness)
    widths = {
        name: transition_width(out[HEIGHT // 2, :, 0]) for name, out in (("bilinear", bilinear), ("guided", guided))
    }
    assert widths["bilinear"] >= 8
    assert widths["guided"] <= 2, "the colour should change within a pixel or two of the lightness edge"
    near_edge = np.abs(np.arange(WIDTH) - EDGE + 0.5) < 4
    errors = {
        name: np.abs(out - truth)[:, near_edge].mean() for name, out in (("bilinear", bilinear), ("guided", guided))
    }
    assert errors["guided"] < 0.3 * errors["bilinear"]
    # The jump itself sits exactly where L jumps.
    step = np.abs(np.diff(guided[HEIGHT // 2, :, 0]))
    assert np.argmax(step) == EDGE - 1 and step.max() > 0.75 * (LEFT_AB[0] - RIGHT_AB[0])


def test_big_pictures_get_their_colour_at_a_reduced_size_and_keep_the_edge(monkeypatch):
    """Above MAX_WORKING_PIXELS the colour is made at half size and resized: in a big picture (29 pixels per colour
    cell here, 71 at 12 MP) the edge widens by a pixel or two, still far sharper than bilinear."""
    height, width, edge = 1200, 1600, 693
    lightness = np.where(np.arange(width) < edge, 30, 70).astype(np.float32)[None, :].repeat(height, 0)
    truth = np.zeros((height, width, 2), np.float32)
    truth[:, :edge], truth[:, edge:] = LEFT_AB, RIGHT_AB
    coarse = cv2.resize(truth, (56, 56), interpolation=cv2.INTER_AREA)
    monkeypatch.setattr(upsampling, "MAX_WORKING_PIXELS", height * width // 4)
    reduced = upsample_ab(coarse, width, height, "guided", lightness)
    bilinear = upsample_ab(coarse, width, height, "bilinear", lightness)
    assert reduced.shape == truth.shape
    assert transition_width(reduced[height // 2, :, 0]) <= transition_width(bilinear[height // 2, :, 0]) / 4
    near_edge = np.abs(np.arange(width) - edge + 0.5) < 4
    assert np.abs(reduced - truth)[:, near_edge].mean() < 0.5 * np.abs(bilinear - truth)[:, near_edge].mean()


def test_guided_keeps_each_cells_mean_closer_to_the_prediction_than_bilinear():
    """The back-projection step: averaged back over the cells, the result gives (nearly) the net's ab again."""
    lightness, _, coarse = sharp_edge()

    def drift(method):
        out = upsample_ab(coarse, WIDTH, HEIGHT, method, lightness)
        return np.abs(cv2.resize(out, (56, 56), interpolation=cv2.INTER_AREA) - coarse).max()

    assert drift("guided") < 2.5 < drift("bilinear")


def test_uniform_colour_stays_uniform_whatever_the_lightness():
    lightness = np.random.default_rng(0).uniform(0, 100, (123, 321)).astype(np.float32)
    coarse = np.broadcast_to(np.float32([12.0, -34.0]), (56, 56, 2)).copy()
    out = upsample_ab(coarse, 321, 123, "guided", lightness)
    np.testing.assert_allclose(out, np.broadcast_to(coarse[0, 0], out.shape), atol=1e-3)


@pytest.mark.parametrize("shape", [(97, 1001), (20, 30), (224, 224), (1, 1)])
def test_any_picture_size(shape):
    lightness = np.random.default_rng(1).uniform(0, 100, shape).astype(np.float32)
    coarse = np.random.default_rng(2).uniform(-60, 60, (56, 56, 2)).astype(np.float32)
    out = upsample_ab(coarse, shape[1], shape[0], "guided", lightness)
    assert out.shape == shape + (2,) and out.dtype == np.float32 and np.isfinite(out).all()


def test_bilinear_is_exactly_opencvs_resize():
    coarse = np.random.default_rng(3).uniform(-60, 60, (56, 56, 2)).astype(np.float32)
    assert np.array_equal(upsample_ab(coarse, 517, 333), cv2.resize(coarse, (517, 333)))


def test_guided_beats_bilinear_on_the_true_colour_of_real_photos(photos):
    """The benchmark's measurement in small: true ab averaged to 56x56 and brought back, on every colour photo."""
    colour_photos = 0
    for photo in photos:
        lab = cv2.cvtColor(photo.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)
        if np.abs(lab[:, :, 1:]).mean() < 1:
            continue
        colour_photos += 1
        lightness, truth = np.ascontiguousarray(lab[:, :, 0]), np.ascontiguousarray(lab[:, :, 1:])
        coarse = cv2.resize(truth, (56, 56), interpolation=cv2.INTER_AREA)
        height, width = lightness.shape
        psnr = {
            m: metrics.psnr(upsample_ab(coarse, width, height, m, lightness), truth, metrics.AB_PEAK)
            for m in ("bilinear", "guided")
        }
        assert psnr["guided"] > psnr["bilinear"] + 0.3
    assert colour_photos >= 3


def test_guided_needs_the_lightness():
    with pytest.raises(ColorizationError, match="full-resolution L"):
        upsample_ab(np.zeros((56, 56, 2), np.float32), 100, 80, "guided")


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"method": "nearest"}, "unknown upsampling method"),
        ({"spatial_sigma": 0}, "--guided-spatial-sigma"),
        ({"range_sigma": -1}, "--guided-range-sigma"),
    ],
)
def test_bad_settings_are_refused(settings, message):
    with pytest.raises(ColorizationError, match=message):
        Upsampling(**settings)


def test_guided_is_the_default_for_the_api_and_every_script(dominant_model):
    assert DEFAULT_UPSAMPLE == "guided"
    assert Colorizer.load(**dominant_model).upsample == Upsampling("guided")
    parser = command_arguments.new_parser("test", "")
    command_arguments.add_model_options(parser)
    arguments = [f"--{key}={path}" for key, path in dominant_model.items()]
    assert command_arguments.colorizer_from_args(parser.parse_args(arguments)).upsample == Upsampling("guided")
    chosen = parser.parse_args(
        arguments + ["--upsample", "bilinear", "--guided-spatial-sigma", "0.7", "--guided-range-sigma", "4"]
    )
    assert command_arguments.colorizer_from_args(chosen).upsample == Upsampling("bilinear", 0.7, 4.0)
