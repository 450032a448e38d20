"""The prepare stage: the full-resolution L, the network input and the alpha, the same by both conversions, made
without the network (Ray tasks run it in processes that have none)."""

import ast
from pathlib import Path

import cv2
import numpy as np
import pytest

from colorization import ColorizationError, preparation
from colorization.model import LightnessNormalisation
from colorization.preparation import (
    FULL_SCALE,
    grey_levels,
    grey_lightness_table,
    prepare,
    prepare_fast,
    prepare_for,
    split_alpha,
    to_unit_float,
)
from tests.support.checks import grey_variants


def test_grey_pictures_get_exactly_the_reference_lightness_and_network_input(photos):
    for photo in photos:
        for name, picture in grey_variants(photo).items():
            reference, fast = prepare(picture), prepare_fast(picture)
            assert fast.lightness_or_grey.nbytes * 4 == reference.lightness.nbytes, (
                "kept as 8-bit levels between the stages"
            )
            np.testing.assert_array_equal(fast.lightness, reference.lightness, err_msg=name)
            np.testing.assert_array_equal(fast.network_input, reference.network_input, err_msg=name)
            assert (fast.alpha is None) == (reference.alpha is None), name
            if reference.alpha is not None:
                np.testing.assert_array_equal(fast.alpha, reference.alpha)


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_split_alpha_gives_bgr_and_the_alpha_untouched(channels):
    picture = np.random.default_rng(channels).integers(0, 256, (5, 7, channels), dtype=np.uint8)
    colour, alpha = split_alpha(picture)
    assert colour.shape == (5, 7, 3)
    if channels in (2, 4):
        np.testing.assert_array_equal(alpha, picture[:, :, -1])
        assert not np.shares_memory(alpha, picture), "the alpha is a copy: the caller's array is never written"
    else:
        assert alpha is None
    if channels in (1, 2):
        np.testing.assert_array_equal(colour, np.dstack([picture[:, :, 0]] * 3))


def test_five_channels_are_refused_in_words():
    with pytest.raises(ColorizationError, match="images with 5 channels are not supported"):
        split_alpha(np.zeros((4, 4, 5), np.uint8))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_to_unit_float_scales_each_sample_type_to_one(dtype):
    full = FULL_SCALE[np.dtype(dtype)]
    unit = to_unit_float(np.array([0, full // 2, full], dtype))
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit, [0.0, (full // 2) / full, 1.0], rtol=1e-6)


def test_float_pictures_pass_and_other_sample_types_are_refused():
    floats = np.array([0.25], np.float32)
    assert to_unit_float(floats) is floats
    with pytest.raises(ColorizationError, match="use 8- or 16-bit images"):
        to_unit_float(np.zeros(3, np.int32))


def test_network_input_is_the_centred_lightness_at_the_network_size():
    picture = np.tile(np.linspace(0, 255, 90).astype(np.uint8), (60, 1))
    prepared = prepare(picture, 64)
    assert prepared.network_input.shape == (64, 64) and prepared.lightness.shape == (60, 90)
    small = cv2.resize(to_unit_float(cv2.cvtColor(picture, cv2.COLOR_GRAY2BGR)), (64, 64))
    expected = cv2.cvtColor(small, cv2.COLOR_BGR2Lab)[:, :, 0]
    np.testing.assert_array_equal(LightnessNormalisation.lightness(prepared.network_input), expected)


def test_the_grey_level_table_is_the_whole_picture_conversion():
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(grey_lightness_table()[0], prepare(levels).lightness.ravel())
    assert grey_levels(levels) is levels
    assert grey_levels(levels.astype(np.uint16)) is None, "16-bit pictures take the float path"
    colour = cv2.cvtColor(levels, cv2.COLOR_GRAY2BGR)
    colour[3, 4, 2] += 1
    assert grey_levels(colour) is None


def test_prepare_for_takes_the_conversions_path():
    grey = np.full((8, 8), 90, np.uint8)
    assert prepare_for(grey, 32, "fast").lightness_or_grey.dtype == np.uint8
    assert prepare_for(grey, 32, "reference").lightness_or_grey.dtype == np.float32


def test_the_prepare_stage_depends_on_neither_the_network_nor_the_composition():
    """It comes before both: importing either from here would bring back the cycle pipeline.py once had."""
    tree = ast.parse(Path(preparation.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level}
    assert imported == {"errors", "model"}
