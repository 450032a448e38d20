"""colorization/commands/logs.py: the commands print through the package's logger, one line each, at the level -v
and -q ask for; every module's logger reaches the same place."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import pytest

from colorization.commands import logs
from colorization.outputs import EXISTS_NOTE, OutputPlan


@pytest.fixture
def restored_logger():
    handlers, level, propagate = logs.log.handlers[:], logs.log.level, logs.log.propagate
    yield logs.log
    logs.log.handlers[:], logs.log.level, logs.log.propagate = handlers, level, propagate


@pytest.mark.parametrize(
    "quiet, verbose, level",
    [(False, False, logging.WARNING), (True, False, logging.ERROR), (False, True, logging.INFO)],
)
def test_verbosity_sets_the_level(restored_logger, quiet, verbose, level):
    logs.configure_logging(argparse.Namespace(quiet=quiet, verbose=verbose))
    assert restored_logger.level == level and len(restored_logger.handlers) == 1 and not restored_logger.propagate


def test_a_module_s_logger_prints_its_message_alone_on_stderr(restored_logger, capsys):
    logs.configure_logging(argparse.Namespace(quiet=False, verbose=False))
    logging.getLogger("colorization.cluster.pool").warning("warning: %s", "a replacement model worker failed")
    logging.getLogger("colorization.batch").info("not shown without -v")
    assert capsys.readouterr().err == "warning: a replacement model worker failed\n"


def test_the_output_plan_is_one_line_per_kept_or_impossible_output(restored_logger, capsys):
    logs.configure_logging(argparse.Namespace(quiet=False, verbose=False))
    plan = OutputPlan(
        todo=[],
        existing=[(Path("a.jpg"), Path("a_colorized.jpg"))],
        impossible=[(Path("b.gif"), Path("out"), "out is a file")],
    )
    logs.report_output_plan(plan)
    assert capsys.readouterr().err.splitlines() == [
        f"skipped a.jpg: a_colorized.jpg {EXISTS_NOTE}",
        "error: out is a file",
    ]
