"""The temporal smoothing on its own: what it averages, what it leaves alone, and where it starts afresh."""

import numpy as np
import pytest

from colorization.temporal import FlickerMeter, TemporalSmoother, mean_ab_change

GRID = (56, 56)


def scene(seed: int, offset: float = 0.0) -> np.ndarray:
    """A network input (L - 50 at 224x224) with structure, optionally brighter or darker overall."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(-40, 40, (7, 7)).astype(np.float32)
    return np.kron(coarse, np.ones((32, 32), np.float32)) + np.float32(offset)


def colour(a: float, b: float) -> np.ndarray:
    return np.broadcast_to(np.float32([a, b]), (*GRID, 2)).copy()


def test_a_still_shot_comes_out_exactly_as_predicted():
    smoother = TemporalSmoother()
    ab = np.random.default_rng(3).uniform(-30, 30, (*GRID, 2)).astype(np.float32)
    for _ in range(5):
        assert np.array_equal(smoother.update(scene(0), ab), ab)


def test_flicker_between_two_colours_is_damped():
    smoother, raw, steady = TemporalSmoother(0.7), FlickerMeter(), FlickerMeter()
    for index in range(40):
        ab = colour(20, 20) if index % 2 else colour(-20, -20)
        smoothed = smoother.update(scene(0), ab)
        raw.add(ab, smoother.cut)
        steady.add(smoothed, smoother.cut)
    assert raw.value == pytest.approx(40.0)
    assert steady.value < 0.25 * raw.value
    assert np.abs(smoothed).mean() < 5, "the average sits between the two colours"


def test_brightness_pumping_is_neither_motion_nor_a_cut():
    smoother = TemporalSmoother(0.5)
    smoother.update(scene(0), colour(0, 0))
    smoothed = smoother.update(scene(0, offset=8.0), colour(10, 10))
    assert not smoother.cut
    np.testing.assert_allclose(smoothed, colour(5, 5), atol=1e-5)


def test_a_scene_cut_starts_afresh():
    smoother = TemporalSmoother(0.9)
    for _ in range(3):
        smoother.update(scene(0), colour(30, -10))
    new_shot = colour(-5, 25)
    assert np.array_equal(smoother.update(scene(1), new_shot), new_shot)
    assert smoother.cut and smoother.cuts == 1


def test_colour_follows_what_moves_and_is_averaged_where_nothing_does():
    smoother = TemporalSmoother(0.6)
    still = scene(0)
    smoother.update(still, colour(0, 0))
    moved = still.copy()
    moved[:, :64] += 30  # something bright enters the left quarter: a big change there, not enough for a cut
    smoothed = smoother.update(moved, colour(10, 10))
    assert not smoother.cut
    np.testing.assert_allclose(smoothed[:, :16], 10.0, atol=1e-4)
    np.testing.assert_allclose(smoothed[:, 16:], 4.0, atol=1e-4)


def test_strength_zero_is_frame_by_frame():
    smoother = TemporalSmoother(0.0)
    for seed in range(4):
        ab = np.random.default_rng(seed).uniform(-30, 30, (*GRID, 2)).astype(np.float32)
        assert np.array_equal(smoother.update(scene(0), ab), ab)


def test_strength_must_leave_room_for_the_new_frame():
    with pytest.raises(ValueError):
        TemporalSmoother(1.0)


def test_flicker_meter_ignores_the_jump_at_a_cut():
    meter = FlickerMeter()
    meter.add(colour(0, 0), scene_cut=True)
    meter.add(colour(1, 1), scene_cut=False)
    meter.add(colour(50, 50), scene_cut=True)
    meter.add(colour(52, 52), scene_cut=False)
    assert meter.value == pytest.approx(1.5)
    assert mean_ab_change(colour(0, 0), colour(3, -1)) == pytest.approx(2.0)
