"""colorization/commands/running.py: a command's failures and signals become its documented exit codes and one
line, and -v's start-up timing."""

from __future__ import annotations

import os
import signal
import time

import pytest

from colorization.commands import running
from colorization.errors import ModelFileError
from colorization.pipeline import NetworkTimes
from tests.support.log_lines import logged_lines


def test_a_package_error_is_one_line_and_exit_2(capsys):
    def main(argv):
        raise ModelFileError("models/x.caffemodel is missing: run python fetch_models.py")

    assert running.run(main) == running.EXIT_USAGE == 2
    assert capsys.readouterr().err == "error: models/x.caffemodel is missing: run python fetch_models.py\n"


def test_ctrl_c_is_130_and_sigterm_143_and_the_handler_is_put_back(capsys):
    def interrupted(argv):
        raise KeyboardInterrupt

    def terminated(argv):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises at once: never reached
        return 0

    before = signal.getsignal(signal.SIGTERM)
    assert running.run(interrupted) == running.EXIT_INTERRUPTED == 130
    assert running.run(terminated) == running.EXIT_TERMINATED == 143
    assert capsys.readouterr().err.splitlines() == ["interrupted", "terminated"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_main_s_exit_code_passes_through_and_a_bug_is_not_hidden_as_a_usage_error():
    assert running.run(lambda argv: len(argv), ["a", "b"]) == 2
    with pytest.raises(ValueError):
        running.run(lambda argv: int("not a number"))


def test_seconds_since_process_start_is_this_process_age():
    seconds = running.seconds_since_process_start()
    assert seconds is not None and 0 < seconds < time.monotonic() + 1


class TimedColorizer:
    def __init__(self, forwards: list[float]):
        self.network_times = NetworkTimes()
        for seconds in forwards:
            self.network_times.add(seconds, 1)


def test_start_up_breakdown_for_v():
    with logged_lines() as lines:
        running.log_start_up(0.5, 1.25, TimedColorizer([2.0, 0.25, 0.75]), [1.0, 3.0, 2.0])
        running.log_start_up(None, 1.0, TimedColorizer([]), [])
    assert lines == [
        "start-up: imports 0.50 s, model load 1.25 s, first forward 2.00 s",
        "per picture: 2.00 s (median of 3, reading to writing, network 0.75 s)",
        "start-up: imports not measured here, model load 1.00 s",
    ]
