"""The `fast` conversion (batch_colorize.py's default) against reference mode: outputs within 1 grey level of
reference mode on real photos (tests/test_preparation.py: the same L and network input for grey 8-bit pictures)."""

import cv2
import numpy as np
import pytest

from colorization import ColorizationError, Colorizer
from colorization.preparation import prepare, prepare_fast
from tests.support.checks import grey_variants


def test_colour_and_16_bit_pictures_take_the_reference_path(photos, lightness_model):
    reference = Colorizer.load(**lightness_model)
    fast = Colorizer.load(**lightness_model, conversion="fast")
    colour = photos[0].copy()
    colour[0, 0] = (0, 128, 255)  # at least one pixel that is not grey
    np.testing.assert_array_equal(prepare_fast(colour).lightness, prepare(colour).lightness)
    deep = cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    np.testing.assert_array_equal(fast.colorize(deep), reference.colorize(deep))
    assert fast.colorize(deep).dtype == np.uint16


def assert_within_one_grey_level(fast: np.ndarray, reference: np.ndarray, name: str) -> None:
    difference = np.abs(fast.astype(int) - reference.astype(int))
    assert fast.shape == reference.shape, name
    assert difference.max() <= 1, name
    assert (difference > 0).mean() < 1e-3, f"{name}: only rounding ties may differ"


def test_fast_is_within_one_grey_level_of_reference_on_real_photos(photos, lightness_model):
    reference = Colorizer.load(**lightness_model)
    fast = Colorizer.load(**lightness_model, conversion="fast")
    for photo in photos:
        for name, picture in {"colour": photo, **grey_variants(photo)}.items():
            assert_within_one_grey_level(fast.colorize(picture), reference.colorize(picture), name)


def test_fast_keeps_alpha_untouched(photos, dominant_model):
    picture = grey_variants(photos[0])["equal BGRA"]
    output = Colorizer.load(**dominant_model, conversion="fast").colorize(picture)
    assert output.shape[2] == 4
    np.testing.assert_array_equal(output[:, :, 3], picture[:, :, 3])


def test_unknown_conversion_is_refused(dominant_model):
    with pytest.raises(ColorizationError, match="unknown conversion"):
        Colorizer.load(**dominant_model, conversion="approximate")


def test_fast_is_within_one_grey_level_of_reference_with_the_release_architecture(release_architecture, photos):
    """The full network's colours (random weights) on the real photos, grey and colour: what batch runs by default."""
    reference = Colorizer.load(**release_architecture)
    fast = Colorizer.load(**release_architecture, conversion="fast")
    for photo in photos:
        grey = cv2.cvtColor(cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
        for name, picture in (("colour", photo), ("grey", grey)):
            prepared, prepared_fast = reference.prepare(picture), fast.prepare(picture)
            np.testing.assert_array_equal(prepared_fast.network_input, prepared.network_input)
            (ab,) = reference.predict_ab([prepared])  # the same input, so one forward pass serves both
            assert_within_one_grey_level(fast.compose(prepared_fast, ab), reference.compose(prepared, ab), name)
