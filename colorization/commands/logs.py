"""Logging set-up: the commands speak through the package's logger, at the level -v or -q ask for, one line each."""

from __future__ import annotations

import argparse
import logging
import sys

import cv2

from ..outputs import EXISTS_NOTE, OutputPlan
from ..paths import display_path

log = logging.getLogger("colorization")
"""The package's logger, the parent of every module's: what the commands configure and print through."""


def configure_logging(args: argparse.Namespace) -> None:
    level = logging.ERROR if args.quiet else logging.INFO if args.verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    # Unless -v, OpenCV stays quiet: its codec messages repeat, in its words, the one line we print per bad file.
    cv2.utils.logging.setLogLevel(
        cv2.utils.logging.LOG_LEVEL_WARNING if args.verbose else cv2.utils.logging.LOG_LEVEL_SILENT
    )


def report_output_plan(plan: OutputPlan) -> None:
    """Before the model loads: one line for each output kept as it is and for each that cannot be written."""
    for source, destination in plan.existing:
        log.warning("skipped %s: %s %s", display_path(source), display_path(destination), EXISTS_NOTE)
    for _, _, problem in plan.impossible:
        log.error("error: %s", problem)
