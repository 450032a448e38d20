"""One Ray head on this machine for the whole test session: `ray start --head` once, then every command run with
`--ray ADDRESS` only connects to it, as on a real cluster, instead of paying for a new Ray instance per test."""
from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

HEAD_CPUS = 4
"""Logical CPUs of the test head: room for a model actor and reading/writing tasks beside it on 2 real cores."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_command() -> list[str]:
    return [str(Path(sys.executable).with_name("ray"))]


def start_head(temporary: Path) -> tuple[str, subprocess.Popen]:
    """Start a head node whose files live under `temporary`, held by a `ray start --block` process so that stopping
    it stops this head alone (`ray stop` would stop every Ray on the machine); return the address commands pass to
    --ray, and that process."""
    port = free_port()
    # A test head on this machine alone: no token to hand around (a real cluster keeps Ray's token authentication).
    os.environ["RAY_AUTH_MODE"] = "disabled"
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        ray_command() + [
            "start", "--head", "--block", f"--port={port}", f"--num-cpus={HEAD_CPUS}", "--num-gpus=0",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temporary}",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=environment, start_new_session=True,
    )
    printed = []
    # Ray listens on the node's own address (the one its hint for joining nodes prints), not on 127.0.0.1.
    for line in head.stdout:
        printed.append(line)
        found = re.search(r"ray start --address='([^']+)'", line)
        if found:
            threading.Thread(target=head.stdout.read, daemon=True).start()  # keep the pipe drained
            return found.group(1), head
    head.wait()
    raise RuntimeError(f"ray start --head failed with exit code {head.returncode}: {''.join(printed[-5:])}")


def stop_head(head: subprocess.Popen) -> None:
    """Every process of this head (they share the session `ray start` began), at once: a test cluster has nothing
    to drain."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(head.pid, signal.SIGKILL)
    head.wait()
