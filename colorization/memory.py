"""Memory the process has freed, handed back to the system."""

from __future__ import annotations

import contextlib
import ctypes
import gc


def return_freed_memory(collect: bool = True) -> None:
    """Hand memory freed in small pieces back to the system where the C library can (glibc's malloc_trim; nothing
    elsewhere): a runtime's one-off work (importing a model) or a finished 12-megapixel picture otherwise leaves it
    in the allocator's arenas, counted in the process until it exits. `collect` first frees what only Python's
    cycle collector would (a few milliseconds in a process holding a runtime: not per picture)."""
    if collect:
        gc.collect()
    with contextlib.suppress(OSError, AttributeError, TypeError):
        ctypes.CDLL(None).malloc_trim(0)
