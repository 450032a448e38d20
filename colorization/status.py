"""What became of one input in a run: the status of a report line, a summary's counts and a command's exit code.

A `str` enum, so the CSV and JSON reports and the REST API keep writing the same words. A web film job's
lifecycle (ready, queued, running...) is another thing, `web.film_jobs.FilmState`: it changes while a job lives,
where a status is said once, when the input's work is over.
"""

from __future__ import annotations

from enum import Enum


class WordEnum(str, Enum):
    """A `str` enum that is its word everywhere: messages, f-strings, CSV cells, JSON (enum.StrEnum, which
    Python 3.9 and 3.10 lack)."""

    def __str__(self) -> str:
        return self.value


class Status(WordEnum):
    """The outcome of one picture or film."""

    DONE = "done"
    SKIPPED = "skipped"
    """Left out on purpose: its output exists, or it is not an input (hidden, not a picture...)."""
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    """Not reached: the run was stopped (Ctrl-C, SIGTERM) before it."""
