import argparse

import pytest

from colorization.commands.video import positive_seconds, time_position


@pytest.mark.parametrize(
    "text, seconds", [("90", 90), ("90.5", 90.5), ("1:30.5", 90.5), ("01:02:03.25", 3723.25), (".5", 0.5)]
)
def test_times_in_seconds_or_timecode(text, seconds):
    assert time_position(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["1:75", "1:60:00", "soon", "-3"])
def test_impossible_times_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        time_position(text)


def test_preview_interval_must_be_positive():
    assert positive_seconds("2.5") == 2.5
    with pytest.raises(argparse.ArgumentTypeError, match="above 0"):
        positive_seconds("0")
