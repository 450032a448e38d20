"""One progress bar for every command: tqdm, silent when quiet or when stderr is not a terminal (logs, CI)."""

from __future__ import annotations

import contextlib
import logging
import sys

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm


@contextlib.contextmanager
def progress_bar(total: int | None, unit: str, description: str = "", quiet: bool = False, **options):
    """A bar that log lines print above instead of through."""
    bar = tqdm(
        total=total,
        unit=unit,
        desc=description or None,
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
        leave=False,
        **options,
    )
    with bar, logging_redirect_tqdm(loggers=[logging.getLogger("colorization")]):
        yield bar
