"""One progress bar for every script: tqdm, silent when --quiet or when stderr is not a terminal (logs, CI)."""
from __future__ import annotations

import sys

from tqdm import tqdm


def progress_bar(total: int | None, unit: str, description: str = "", quiet: bool = False, **options) -> tqdm:
    return tqdm(
        total=total,
        unit=unit,
        desc=description or None,
        disable=quiet or not sys.stderr.isatty(),
        dynamic_ncols=True,
        leave=False,
        **options,
    )
