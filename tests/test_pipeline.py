import cv2
import numpy as np
import pytest

from colorization import ColorizationError, Colorizer
from tests.support import DOMINANT_AB


def assert_lightness_kept(output: np.ndarray, image: np.ndarray) -> None:
    """Lab L within 1 of the input's wherever no channel was clipped to fit sRGB (most of a real photo)."""
    full = np.iinfo(output.dtype).max
    unclipped = ((output[:, :, :3] > 0) & (output[:, :, :3] < full)).all(axis=2)
    assert unclipped.mean() > 0.25
    difference = np.abs(lab_of(output)[:, :, 0] - lab_of(image)[:, :, 0])
    assert difference[unclipped].max() <= 1.0


def lab_of(image: np.ndarray) -> np.ndarray:
    """Float Lab of an 8- or 16-bit BGR(A) image."""
    full = 65535.0 if image.dtype == np.uint16 else 255.0
    return cv2.cvtColor(image[:, :, :3].astype(np.float32) / full, cv2.COLOR_BGR2Lab)


def test_dominant_bin_colours_every_pixel_with_its_ab(dominant_model, photos):
    colorizer = Colorizer.load(**dominant_model)
    output = colorizer.colorize(photos[0])
    expected_ab = np.float32(DOMINANT_AB)
    ab = lab_of(output)[:, :, 1:]
    # Away from black and white, where sRGB cannot hold the chroma, the ab is the bin's within 8-bit rounding.
    lightness = lab_of(photos[0])[:, :, 0]
    mid = (lightness > 35) & (lightness < 75)
    assert mid.sum() > 1000
    assert np.abs(ab[mid] - expected_ab).mean() < 2.0
    assert np.median(np.abs(ab[mid] - expected_ab)) < 1.0


def test_predicted_ab_is_exactly_the_bin_centre(dominant_model, photos):
    colorizer = Colorizer.load(**dominant_model)
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    assert ab.shape == (56, 56, 2)
    np.testing.assert_allclose(ab, np.broadcast_to(np.float32(DOMINANT_AB), ab.shape), atol=1e-3)


def test_symmetric_distribution_keeps_grey_input_grey(grey_model):
    gradient = np.tile(np.linspace(0, 255, 301, dtype=np.float32), (203, 1)).astype(np.uint8)
    output = Colorizer.load(**grey_model).colorize(gradient)
    assert output.shape == (203, 301, 3)
    assert np.abs(output.astype(int) - gradient[:, :, None]).max() <= 1


@pytest.mark.parametrize("shape", [(333, 517), (97, 1001), (224, 224)])
def test_size_kept_and_lightness_preserved(lightness_model, photos, shape):
    image = cv2.resize(photos[-1], shape[::-1], interpolation=cv2.INTER_AREA)
    output = Colorizer.load(**lightness_model).colorize(image)
    assert output.shape == image.shape and output.dtype == np.uint8
    assert_lightness_kept(output, image)
    assert np.abs(lab_of(output)[:, :, 1:]).mean() > 2.0, "the lightness model should add colour"


def test_colour_input_is_colorized_from_its_lightness_alone(lightness_model, photos):
    colorizer = Colorizer.load(**lightness_model)
    grey = cv2.cvtColor(photos[0], cv2.COLOR_BGR2GRAY)
    from_colour = colorizer.colorize(cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR))
    from_grey = colorizer.colorize(grey)
    assert np.array_equal(from_colour, from_grey)


def test_alpha_is_reattached_untouched(lightness_model, photos):
    image = cv2.cvtColor(photos[0], cv2.COLOR_BGR2BGRA)
    image[:, :, 3] = np.random.default_rng(0).integers(0, 256, image.shape[:2], dtype=np.uint8)
    output = Colorizer.load(**lightness_model).colorize(image)
    assert output.shape == image.shape
    assert np.array_equal(output[:, :, 3], image[:, :, 3])


def test_grey_plus_alpha_gives_bgra(lightness_model):
    image = np.zeros((50, 60, 2), np.uint8)
    image[:, :, 0] = 200
    image[:, :, 1] = 123
    output = Colorizer.load(**lightness_model).colorize(image)
    assert output.shape == (50, 60, 4)
    assert (output[:, :, 3] == 123).all()


def test_sixteen_bit_in_sixteen_bit_out(lightness_model, photos):
    image = photos[0].astype(np.uint16) * 257 + np.uint16(100)
    output = Colorizer.load(**lightness_model).colorize(image)
    assert output.dtype == np.uint16 and output.shape == image.shape
    assert_lightness_kept(output, image)
    # Real 16-bit precision: the output uses values between the multiples of 257 that an 8-bit path would give.
    assert np.count_nonzero(output % 257) > output.size // 2


def test_lower_temperature_is_more_vivid(bimodal_model, photos):
    chroma = []
    for temperature in (2.0, 1.0, 0.7, 0.38, 0.2, 0.1):
        output = Colorizer.load(**bimodal_model, temperature=temperature).colorize(photos[0])
        chroma.append(np.hypot(*np.moveaxis(lab_of(output)[:, :, 1:], -1, 0)).mean())
    assert all(warmer < cooler for warmer, cooler in zip(chroma, chroma[1:])), chroma


def test_temperature_one_is_the_plain_mean_and_low_temperature_the_mode(bimodal_model, release_points):
    """T = 1 decodes the plain expectation of the 313-bin distribution; T -> 0 tends to its most likely bin."""
    logits = np.full(313, -10.0)
    for ab, logit in (((40, 40), 2.0), ((-40, -40), 1.5)):
        logits[np.flatnonzero((release_points == ab).all(axis=1))[0]] = logit
    probabilities = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    plain_mean = probabilities @ release_points
    grey = np.full((224, 224), 128, np.uint8)
    for temperature, expected in ((1.0, plain_mean), (0.02, (40, 40))):
        colorizer = Colorizer.load(
            **bimodal_model, temperature=temperature, precision="fp32"
        )  # to 0.01: the reference arithmetic
        (ab,) = colorizer.predict_ab([colorizer.prepare(grey)])
        np.testing.assert_allclose(ab, np.broadcast_to(np.float32(expected), ab.shape), atol=0.01)


@pytest.mark.parametrize("temperature", [0, -1])
def test_bad_temperature_is_refused(dominant_model, temperature):
    with pytest.raises(ColorizationError, match="temperature"):
        Colorizer.load(**dominant_model, temperature=temperature)


def test_other_network_size(dominant_model, photos):
    colorizer = Colorizer.load(**dominant_model, size=320)
    (ab,) = colorizer.predict_ab([colorizer.prepare(photos[0])])
    assert ab.shape == (80, 80, 2)


@pytest.mark.parametrize("size", [100, 16])
def test_bad_network_size_is_refused(dominant_model, size):
    with pytest.raises(ColorizationError, match="multiple of 8"):
        Colorizer.load(**dominant_model, size=size)


def test_batched_forward_equals_one_at_a_time(lightness_model, photos):
    colorizer = Colorizer.load(**lightness_model)
    prepared = [colorizer.prepare(p) for p in photos[:3]]
    together = colorizer.predict_ab(prepared)
    for item, ab in zip(prepared, together):
        np.testing.assert_allclose(colorizer.predict_ab([item])[0], ab, atol=1e-4)


def two_tone(width=320, height=240) -> np.ndarray:
    """Dark on the left, light on the right, split by a sharp edge."""
    picture = np.full((height, width), 170, np.uint8)
    picture[:, : width // 2 - 10] = 80
    return picture


def test_staged_decode_with_hints_gives_colorizes_pixels(dominant_model):
    """What the web page does (scores kept, decoded with hints, composed) gives colorize's picture."""
    from colorization.hints import Hint

    colorizer = Colorizer.load(**dominant_model)
    picture = two_tone()
    hints = [Hint(40, 120, "#2e8b57"), Hint(0.9, 0.1, "steelblue", fraction=True)]
    prepared = colorizer.prepare(picture)
    scores = colorizer.predict_scores([prepared])[0]
    staged = colorizer.compose(prepared, colorizer.decode(scores, hints=hints, lightness=prepared.lightness))
    direct = colorizer.colorize(picture, hints)
    assert np.abs(staged.astype(int) - direct).max() <= 1
    assert np.abs(direct.astype(int) - colorizer.colorize(picture)).max() > 20, "the hints changed the picture"
    with pytest.raises(ColorizationError, match="hints need the picture's lightness"):
        colorizer.decode(scores, hints=hints)


def test_hints_keep_their_colour_at_any_temperature_and_saturation_still_applies(bimodal_model):
    """Temperature changes the net's colour where no hint reaches, not the picked colour; saturation scales both."""
    from colorization.hints import Hint

    picture = two_tone()
    hint = [Hint(40, 120, "#2e8b57")]
    hinted_side, other_side = (slice(None), slice(0, 140)), (slice(None), slice(170, None))
    results = {}
    for temperature in (1.0, 0.2):
        colorizer = Colorizer.load(**bimodal_model, temperature=temperature)
        results[temperature] = lab_of(colorizer.colorize(picture, hint))[:, :, 1:]
    assert np.abs(results[1.0][hinted_side] - results[0.2][hinted_side]).mean() < 1
    assert np.abs(results[1.0][other_side] - results[0.2][other_side]).mean() > 5
    assert (np.linalg.norm(results[0.2][hinted_side] - Hint(0, 0, "#2e8b57").ab, axis=2) < 10).mean() > 0.9
    grey = Colorizer.load(**bimodal_model, saturation=0).colorize(picture, hint)
    assert np.abs(lab_of(grey)[:, :, 1:]).max() < 1


def film_and_photo_turns() -> list[str]:
    """A film forwarding 50 times in a tight loop and a photo asking once meanwhile: the order they got the lock in."""
    import threading
    import time

    from colorization.pipeline import TurnLock

    turns, inside, order = TurnLock(), [], []
    film_in = threading.Event()

    def film() -> None:
        for _ in range(50):
            with turns:
                inside.append("film")
                order.append("film")
                film_in.set()
                time.sleep(0.005)
                assert inside == ["film"], inside
                inside.clear()

    def photo() -> None:
        with turns:
            assert inside == [], inside
            order.append("photo")

    film_thread = threading.Thread(target=film)
    film_thread.start()
    film_in.wait(5)
    photo_thread = threading.Thread(target=photo)
    photo_thread.start()
    photo_thread.join(5)
    film_thread.join(10)
    return order


def test_forwards_run_one_at_a_time_and_take_turns_in_order():
    """A film forwarding in a tight loop cannot keep the engine from a photo that asked for it meanwhile (a plain
    Lock lets the loop take it again before the photo's thread wakes, now and then for the whole film)."""
    for _ in range(5):
        order = film_and_photo_turns()
        assert order.count("film") == 50 and order.index("photo") <= 2, order.index("photo")
