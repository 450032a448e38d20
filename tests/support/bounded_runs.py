"""Commands run as a user runs them, in a child process held to a time and memory bound: what the bad-input corpus
measures every case with."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import REPO

MEMORY_BOUND = 2 << 30
"""No input may make a command hold more than this much memory: its peak resident memory (os.wait4) is checked
against it."""
ADDRESS_SPACE_BOUND = 4 << 30
"""The child's address space (RLIMIT_AS), so that a runaway allocation fails fast instead of swapping: generous,
because ONNX Runtime, OpenVINO and OpenBLAS reserve address space they never touch (the heaviest healthy run, the
tiny model at --size 896 with every engine measured, reserves about 2.2 GB for 1 GB resident)."""
TIME_BOUND = 90.0
"""Seconds a run may take before it counts as hung (healthy runs of the tiny model take a few, on a busy machine)."""


def limit_memory() -> None:
    """In the child, before it starts: its address space bounded (RLIMIT_AS)."""
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BOUND, ADDRESS_SPACE_BOUND))


@dataclass
class Finished:
    """What one bounded run did."""

    argv: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_bytes: int
    timed_out: bool = False


@dataclass
class Bounded:
    """A command started in its own session under the memory bound, killed when it passes the time bound."""

    argv: list[str]
    cwd: Path
    stdin: int | None = subprocess.DEVNULL
    process: subprocess.Popen | None = None
    started: float = 0.0
    outputs: list = field(default_factory=list)

    def start(self) -> Bounded:
        env = {**os.environ, "PYTHONPATH": str(REPO), "COLORIZE_NO_DOWNLOAD": "1"}
        self.outputs = [tempfile.TemporaryFile(), tempfile.TemporaryFile()]  # noqa: SIM115 (open while the process runs)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=env,
            stdin=self.stdin,
            stdout=self.outputs[0],
            stderr=self.outputs[1],
            preexec_fn=limit_memory,
            start_new_session=True,
        )
        return self

    def stop(self, how: int = signal.SIGKILL) -> None:
        try:
            os.killpg(self.process.pid, how)
        except ProcessLookupError:
            pass

    def wait(self, bound: float = TIME_BOUND) -> Finished:
        """Its end (os.wait4 gives the peak resident memory of the child itself); past `bound`, it is killed."""
        timer = threading.Timer(max(0.0, bound - (time.monotonic() - self.started)), self.stop)
        timer.start()
        _, status, usage = os.wait4(self.process.pid, 0)
        timer.cancel()
        self.process.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - self.started
        self.stop()  # anything it left behind in its session (an ffmpeg) goes with it
        texts = []
        for output in self.outputs:
            output.seek(0)
            texts.append(output.read().decode("utf-8", "replace"))
            output.close()
        return Finished(
            self.argv, self.process.returncode, texts[0], texts[1], seconds, usage.ru_maxrss * 1024, seconds >= bound
        )


def command(name: str, *arguments) -> list[str]:
    """A command of the toolkit as `python -m colorization NAME` runs it (the installed commands' own code)."""
    return [sys.executable, "-m", "colorization", name, *map(str, arguments)]


def run_bounded(argv: list[str], cwd: Path, bound: float = TIME_BOUND) -> Finished:
    return Bounded(argv, cwd).start().wait(bound)
