"""--saturation: more or less colour, each pixel held inside sRGB so no channel clips hard."""

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorization import ColorizationError, Colorizer, saturation
from colorization.commands import arguments
from colorization.saturation import compute_max_chroma_table, fit_in_gamut, linear_rgb, max_chroma_table
from tests.support.tiny_model import model_arguments

OPENCV_ROUND_TRIP = 1.0
"""cv2's own float Lab -> BGR -> Lab loses up to about 0.6 in ab on colours that are inside sRGB."""


def random_lab(shape=(200, 300), chroma=90.0, seed=0):
    rng = np.random.default_rng(seed)
    lightness = rng.uniform(0, 100, shape).astype(np.float32)
    ab = rng.uniform(-chroma, chroma, shape + (2,)).astype(np.float32)
    return lightness, ab


def saturate(lightness, ab, factor):
    return np.dstack(fit_in_gamut(lightness, ab[:, :, 0], ab[:, :, 1], factor))


def round_trip_error(lightness, ab):
    """How far ab moves through cv2's clipped Lab -> BGR -> Lab: large exactly where a channel was clipped."""
    lab = cv2.merge([lightness, ab[:, :, 0], ab[:, :, 1]])
    back = cv2.cvtColor(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR), cv2.COLOR_BGR2Lab)
    return np.abs(back[:, :, 1:] - ab).max(axis=2)


@pytest.mark.parametrize("factor", [0.5, 1.5, 3.0])
def test_no_pixel_clips_whatever_the_factor(factor):
    lightness, ab = random_lab()
    assert round_trip_error(lightness, ab * factor).max() > 20, (
        "plain scaling does clip: the check below means something"
    )
    assert round_trip_error(lightness, saturate(lightness, ab, factor)).max() <= OPENCV_ROUND_TRIP


def test_in_gamut_colours_are_scaled_exactly_with_hue_and_lightness_kept():
    lightness = np.full((10, 10), 55, np.float32)
    ab = np.random.default_rng(1).uniform(-8, 8, (10, 10, 2)).astype(np.float32)
    out = saturate(lightness, ab, 1.7)
    np.testing.assert_allclose(out, ab * 1.7, rtol=1e-5, atol=1e-5)


def test_out_of_gamut_colours_are_pulled_in_along_their_hue():
    lightness, ab = random_lab(seed=2)
    out = saturate(lightness, ab, 2.0)
    hue_in, hue_out = np.arctan2(ab[:, :, 1], ab[:, :, 0]), np.arctan2(out[:, :, 1], out[:, :, 0])
    moved = np.hypot(*np.moveaxis(out, -1, 0)) > 0.5
    assert np.abs(np.angle(np.exp(1j * (hue_out - hue_in))))[moved].max() < 1e-3
    assert np.hypot(*np.moveaxis(out, -1, 0)).max() <= np.hypot(*np.moveaxis(ab, -1, 0)).max() * 2.0


def test_factor_one_leaves_colour_inside_srgb_untouched_and_zero_makes_grey():
    lightness, ab = random_lab(chroma=10.0)
    lightness = np.clip(lightness, 30, 70)
    assert np.array_equal(saturate(lightness, ab, 1.0), ab)
    assert np.abs(saturate(lightness, ab, 0.0)).max() == 0


def test_gamut_table_is_just_inside_the_boundary():
    table = max_chroma_table()
    lightness, hue = 60.0, np.radians(np.arange(0, 360, 15))
    limit = table[60 * 2, np.arange(0, 360, 15) * 2]

    def inside(chroma):
        rgb = linear_rgb(lightness, chroma * np.cos(hue), chroma * np.sin(hue))
        return ((rgb >= 0) & (rgb <= 1)).all(axis=-1)

    assert inside(limit).all()
    assert not inside(limit * 1.03).any()


def test_the_shipped_gamut_table_is_the_computed_one():
    """The table is read from the package, not computed at each start: it must be what the formulas give (after a
    change to them, write it again with colorization.saturation.write_max_chroma_table())."""
    shipped = max_chroma_table()
    assert shipped.dtype == np.float32 and shipped.shape == (201, 721)
    np.testing.assert_allclose(shipped, compute_max_chroma_table(), rtol=0, atol=1e-4)


def test_colorizing_reads_the_table_and_never_computes_it(dominant_model, photos, monkeypatch):
    monkeypatch.setattr(
        saturation, "compute_max_chroma_table", lambda: pytest.fail("the table was computed at run time")
    )
    for cached in (saturation.max_chroma_table, saturation.signed_hue_table, saturation.safe_chroma_table):
        cached.cache_clear()
    colour = Colorizer.load(**dominant_model, saturation=1.5).colorize(photos[0])
    assert colour.shape == photos[0].shape


def test_bad_factor_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="saturation"):
        Colorizer.load(**dominant_model, saturation=-0.5)


def lab_of(image):
    return cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_BGR2Lab)


def test_saturation_through_the_pipeline_adds_colour(dominant_model, photos):
    plain = Colorizer.load(**dominant_model).colorize(photos[0])
    vivid = Colorizer.load(**dominant_model, saturation=1.5).colorize(photos[0])
    lightness = lab_of(photos[0])[:, :, 0]
    mid = (lightness > 35) & (lightness < 75)
    chroma = [np.hypot(*np.moveaxis(lab_of(output)[:, :, 1:], -1, 0))[mid].mean() for output in (plain, vivid)]
    assert chroma[1] == pytest.approx(1.5 * chroma[0], rel=0.05)


def test_saturated_output_keeps_the_photos_lightness_where_plain_clipping_does_not(lightness_model, photos):
    """A clipped channel changes L; held inside sRGB, every pixel keeps the input's L (within 8-bit rounding): at any
    factor other than 1, and at factor 1 too in the default guided mode; reference mode at 1 clips as the sample."""
    lightness = lab_of(photos[0])[:, :, 0]
    changed = {}
    for upsample, factor in (("bilinear", 1.0), ("bilinear", 2.5), ("guided", 1.0), ("guided", 2.5)):
        output = Colorizer.load(**lightness_model, upsample=upsample, saturation=factor).colorize(photos[0])
        changed[upsample, factor] = np.mean(np.abs(lab_of(output)[:, :, 0] - lightness) > 1.0)
    assert changed["bilinear", 1.0] > 0.01, "the lightness model predicts colours sRGB cannot hold: plain output clips"
    assert max(changed["bilinear", 2.5], changed["guided", 1.0], changed["guided", 2.5]) < 0.001


def test_saturation_option_in_a_script(tmp_path, dominant_model, photos):
    parser = arguments.new_parser("test", "")
    arguments.add_model_options(parser)
    args = parser.parse_args(model_arguments(dominant_model) + ["--saturation", "1.5"])
    assert arguments.colorizer_from_args(args).saturation == 1.5
    picture = tmp_path / "grey.png"
    cv2.imwrite(str(picture), cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY))
    colorize = Path(__file__).resolve().parent.parent / "colorize.py"
    result = subprocess.run(
        [sys.executable, str(colorize), "-i", str(picture), "--saturation", "-1", *model_arguments(dominant_model)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "colorize.py: error: argument --saturation: '-1': give a number from 0 to 4 (see colorize.py --help)"
    ]
