"""Running a command: its exit codes, the wrapper that turns expected failures and signals into them, and -v's
start-up timing."""

from __future__ import annotations

import os
import signal
import statistics
import sys
import threading
from typing import TYPE_CHECKING, Callable

from ..errors import ColorizationError, Terminated
from .logs import log

if TYPE_CHECKING:
    from ..pipeline import Colorizer

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a command stopped by Ctrl-C."""
EXIT_TERMINATED = 143
"""128 + SIGTERM: kill, a job scheduler's time limit, docker stop."""


def raise_terminated(signum, frame):
    raise Terminated()


def run(main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a command's main; expected failures become one line on stderr and exit code 2, never a traceback."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, raise_terminated) if in_main_thread else None
    try:
        return main(argv)
    except ColorizationError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Terminated:
        print("terminated", file=sys.stderr)
        return EXIT_TERMINATED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


def seconds_since_process_start() -> float | None:
    """How long this process has run (Linux's /proc, to 10 ms), so -v can say what the imports cost; None elsewhere."""
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            start_ticks = int(stat.read().rpartition(")")[2].split()[19])
            return float(uptime.read().split()[0]) - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def log_start_up(imports: float | None, load: float, colorizer: Colorizer, picture_seconds: list[float]) -> None:
    """-v's breakdown of a run: imports, model load, first forward, then per picture (the network's share beside)."""
    times = colorizer.network_times
    parts = [
        f"imports {imports:.2f} s" if imports is not None else "imports not measured here",
        f"model load {load:.2f} s",
    ]
    if times.first is not None:
        parts.append(f"first forward {times.first:.2f} s")
    log.info("start-up: %s", ", ".join(parts))
    if picture_seconds:
        network = f", network {statistics.median(times.per_picture):.2f} s" if times.per_picture else ""
        log.info(
            "per picture: %.2f s (median of %d, reading to writing%s)",
            statistics.median(picture_seconds),
            len(picture_seconds),
            network,
        )
