"""What the package logs, as lines, whatever handlers and propagation a command run earlier in the session left."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


class LineCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def logged_lines(level: int = logging.INFO) -> Iterator[list[str]]:
    """The messages the package's logger (and every module's below it) passes at `level` while the block runs,
    collected alone: a handler a command set earlier (on a stream since closed) is put aside meanwhile."""
    logger = logging.getLogger("colorization")
    collector = LineCollector()
    previous = logger.handlers[:], logger.level, logger.propagate
    logger.handlers[:], logger.propagate = [collector], False
    logger.setLevel(level)
    try:
        yield collector.lines
    finally:
        logger.handlers[:], logger.propagate = previous[0], previous[2]
        logger.setLevel(previous[1])
