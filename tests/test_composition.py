"""The full-resolution colour work in bands: bit for bit the whole picture's result, in far less memory, with the
photo's lightness kept in guided mode and the OpenCV sample's clipping kept in reference mode."""

import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorization import upsampling
from colorization.composition import compose, from_unit_float, upsample_ab
from colorization.preparation import prepare, prepare_fast, to_unit_float
from colorization.saturation import fit_in_gamut

REPO = Path(__file__).resolve().parent.parent


def whole_picture(prepared, ab, upsample, saturation=1.0, conversion="reference"):
    """The same colour work on full-size arrays, one step after another, as it was done before bands."""
    height, width = prepared.lightness.shape
    full = upsample_ab(ab, width, height, upsample, prepared.lightness)
    a, b = np.ascontiguousarray(full[:, :, 0]), np.ascontiguousarray(full[:, :, 1])
    if upsample == "guided" or saturation != 1:
        a, b = fit_in_gamut(prepared.lightness, a, b, saturation)
    bgr = from_unit_float(
        cv2.cvtColor(cv2.merge([prepared.lightness, a, b]), cv2.COLOR_Lab2BGR), prepared.dtype, conversion
    )
    return bgr if prepared.alpha is None else cv2.merge([bgr, prepared.alpha])


def picture(shape, dtype=np.uint8, seed=0):
    """Smooth shapes with edges, like a photo, so guided upsampling has edges to follow."""
    rng = np.random.default_rng(seed)
    full = np.iinfo(dtype).max if dtype != np.float32 else 1.0
    image = cv2.GaussianBlur(rng.uniform(0, full, shape).astype(np.float32), (0, 0), 2)
    image[: shape[0] // 2, : shape[1] // 3] *= 0.4
    return image if dtype == np.float32 else np.clip(image, 0, full).astype(dtype)


def vivid_ab(seed=1, chroma=110.0):
    """A colour-rich prediction: strong colours of every hue, many of which sRGB cannot show at their L."""
    return np.random.default_rng(seed).uniform(-chroma, chroma, (56, 56, 2)).astype(np.float32)


@pytest.mark.parametrize("upsample", ["bilinear", "guided"])
@pytest.mark.parametrize("conversion", ["reference", "fast"])
@pytest.mark.parametrize(
    "shape, dtype",
    [
        ((333, 517, 3), np.uint8),
        ((97, 1001, 4), np.uint8),
        ((31, 7, 3), np.uint16),
        ((202, 151, 4), np.uint16),
        ((45, 67, 3), np.float32),
    ],
)
def test_bands_give_the_whole_pictures_result_bit_for_bit(upsample, conversion, shape, dtype):
    image = picture(shape, dtype)
    prepared = prepare(image)
    ab = vivid_ab()
    expected = whole_picture(prepared, ab, upsample, conversion=conversion)
    width = shape[1]
    # One row, a few rows (fewer than a colour cell's, the margin bilinear needs), an odd count, and one band.
    for band_pixels in (1, 2 * width, 7 * width + 3, shape[0] * width):
        actual = compose(prepared, ab, upsample, conversion=conversion, band_pixels=band_pixels)
        assert actual.dtype == image.dtype and actual.shape == image.shape
        np.testing.assert_array_equal(actual, expected, err_msg=f"{band_pixels} pixels per band")
    if shape[2] == 4:
        np.testing.assert_array_equal(actual[:, :, 3], image[:, :, 3])


@pytest.mark.parametrize("upsample", ["bilinear", "guided"])
def test_bands_with_saturation_and_a_reduced_working_size(upsample, monkeypatch):
    """The guided colour made at a smaller working size (as for pictures over MAX_WORKING_PIXELS) and brought up."""
    monkeypatch.setattr(upsampling, "MAX_WORKING_PIXELS", 20_000)
    prepared = prepare(picture((301, 257, 3)))
    ab = vivid_ab(seed=3)
    expected = whole_picture(prepared, ab, upsample, saturation=1.6)
    for band_pixels in (257, 5 * 257 + 1):
        np.testing.assert_array_equal(
            compose(prepared, ab, upsample, saturation=1.6, band_pixels=band_pixels), expected
        )


def test_reference_mode_is_still_the_plain_resize_and_clip_of_opencvs_sample():
    """Bilinear at saturation 1: ab from cv2.resize, converted and clipped as the sample does, nothing else."""
    prepared = prepare(picture((333, 517, 3)))
    ab = vivid_ab()
    full = cv2.resize(ab, (517, 333))
    lab = cv2.merge([prepared.lightness, full])
    expected = np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2BGR) * 255 + 0.5, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(compose(prepared, ab, "bilinear", band_pixels=517 * 3), expected)


def lightness_change(output, prepared):
    """Mean |L out - L in| in grey levels (L on 0..255, as an 8-bit Lab picture stores it)."""
    lightness = cv2.cvtColor(to_unit_float(output[:, :, :3]), cv2.COLOR_BGR2Lab)[:, :, 0]
    return np.abs(lightness - prepared.lightness) * 2.55


def test_guided_mode_keeps_the_photos_lightness_where_clipping_changes_it():
    image = picture((300, 400, 3))
    prepared = prepare(image)
    ab = vivid_ab()
    guided = lightness_change(compose(prepared, ab, "guided"), prepared)
    clipped = lightness_change(compose(prepared, ab, "bilinear"), prepared)
    assert clipped.mean() > 2.0, "the prediction holds colours sRGB cannot show: clipping them does change L"
    assert guided.mean() <= 0.5
    # Without 8-bit rounding, every pixel keeps its L within OpenCV's own float Lab round trip.
    exact = lightness_change(compose(prepare(image.astype(np.float32) / 255), ab, "guided"), prepared)
    assert exact.max() <= 1.0


def hue_shift(upsample, prepared, ab):
    """Degrees between each pixel's predicted hue and its output's, where the output has clear colour (chroma > 10;
    nearer grey, OpenCV's float Lab round trip alone moves the hue by a degree or two)."""
    height, width = prepared.lightness.shape
    predicted = upsample_ab(ab, width, height, upsample, prepared.lightness)
    output = cv2.cvtColor(compose(prepared, ab, upsample), cv2.COLOR_BGR2Lab)[:, :, 1:]
    shift = np.angle(
        np.exp(1j * (np.arctan2(output[..., 1], output[..., 0]) - np.arctan2(predicted[..., 1], predicted[..., 0])))
    )
    coloured = np.hypot(output[..., 0], output[..., 1]) > 10
    assert coloured.mean() > 0.5
    return np.degrees(np.abs(shift[coloured])), predicted, output


def test_guided_mode_keeps_the_hue_and_gives_way_only_in_chroma():
    prepared = prepare(picture((300, 400, 3)).astype(np.float32) / 255)
    ab = vivid_ab()
    shift, predicted, output = hue_shift("guided", prepared, ab)
    assert shift.max() < 2.0 and shift.mean() < 0.2
    chroma_in, chroma_out = np.hypot(*np.moveaxis(predicted, -1, 0)), np.hypot(*np.moveaxis(output, -1, 0))
    assert (chroma_out <= chroma_in + 0.6).all()
    assert (chroma_out < 0.9 * chroma_in).mean() > 0.2, "much of the prediction lies outside sRGB and was pulled in"
    clipped, _, _ = hue_shift("bilinear", prepared, ab)
    assert clipped.max() > 20, "clipping R, G and B one by one does turn the hue"


def test_a_50_megapixel_picture_composes_in_a_fraction_of_a_full_size_float_picture():
    """Peak memory of compose alone, in a fresh process: the output and a few small working arrays, where the
    whole-picture way needs several full-size float32 pictures of 3 channels each."""
    script = textwrap.dedent(
        """
        import re, numpy as np
        from pathlib import Path
        from colorization.composition import compose
        from colorization.preparation import PreparedImage
        height, width = 6000, 8334
        lightness = np.empty((height, width), np.float32)
        lightness[:] = np.linspace(5, 95, width, dtype=np.float32)
        prepared = PreparedImage(lightness, None, None, np.dtype(np.uint8))
        ab = np.random.default_rng(0).uniform(-60, 60, (56, 56, 2)).astype(np.float32)
        def resident():
            return int(re.search(r"VmHWM:\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1)) * 1024
        Path("/proc/self/clear_refs").write_text("5")
        before = resident()
        output = compose(prepared, ab, "guided")
        print(resident() - before, output.nbytes)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    growth, output_bytes = map(int, result.stdout.split())
    full_size_float = 6000 * 8334 * 3 * 4
    assert growth - output_bytes < full_size_float / 6


@pytest.mark.parametrize("dtype, full", [(np.uint8, 255), (np.uint16, 65535)])
def test_from_unit_float_rounds_half_up_and_clips(dtype, full):
    """Exact halves go up (not to even, not down): 0.5 -> 1, 1.5 -> 2, 2.5 -> 3; just below a half goes down."""
    levels = np.array([0.0, 0.49, 0.5, 1.5, 2.5, 3.6, full - 0.51, full - 0.5, full + 40, -3.0], np.float64)
    expected = np.array([0, 0, 1, 2, 3, 4, full - 1, full, full, 0])
    unit = (levels / full).astype(np.float32)
    output = from_unit_float(unit.copy(), dtype)
    assert output.dtype == dtype
    np.testing.assert_array_equal(output, expected)


def test_from_unit_float_keeps_float_pictures_float():
    output = from_unit_float(np.array([-0.2, 0.25, 1.7], np.float32), np.float32)
    assert output.dtype == np.float32
    np.testing.assert_array_equal(output, [0.0, 0.25, 1.0])


@pytest.mark.parametrize("conversion", ["reference", "fast"])
def test_every_grey_level_comes_back_exactly_without_colour(conversion):
    """All 256 levels through L, zero ab and back to 8 bits: rounding (not truncating) returns each level itself."""
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    prepared = (prepare_fast if conversion == "fast" else prepare)(levels, 32)
    output = compose(prepared, np.zeros((8, 8, 2), np.float32), "bilinear", 1.0, conversion)
    assert output.shape == (16, 16, 3) and output.dtype == np.uint8
    np.testing.assert_array_equal(output, np.dstack([levels] * 3))
