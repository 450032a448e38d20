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
        ray_command()
        + [
            "start",
            "--head",
            "--block",
            f"--port={port}",
            f"--num-cpus={HEAD_CPUS}",
            "--num-gpus=0",
            "--include-dashboard=false",
            "--disable-usage-stats",
            f"--temp-dir={temporary}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        start_new_session=True,
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


def kill_session(leader: int) -> None:
    """Every process of the session `leader` began (Ray's workers each have a process group of their own, but stay
    in the session of the `ray start` that made their node): a node going down at once, as a lost machine does."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if os.getsid(int(entry.name)) == leader:
                    os.kill(int(entry.name), signal.SIGKILL)


def stop_head(head: subprocess.Popen) -> None:
    """Every process of this node, at once: a test cluster has nothing to drain."""
    kill_session(head.pid)
    head.wait()


def join_node(address: str, cpus: int = 2) -> subprocess.Popen:
    """A second node joining the head at `address`, in a session of its own so that a test can take the whole
    node down at once (kill_session), as a machine lost mid-run; returns once it has joined."""
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    node = subprocess.Popen(
        ray_command()
        + ["start", f"--address={address}", "--block", f"--num-cpus={cpus}", "--num-gpus=0", "--disable-usage-stats"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
        start_new_session=True,
    )
    printed = []
    for line in node.stdout:
        printed.append(line)
        if "Ray runtime started" in line:
            threading.Thread(target=node.stdout.read, daemon=True).start()  # keep the pipe drained
            return node
    node.wait()
    raise RuntimeError(
        f"ray start --address={address} failed with exit code {node.returncode}: {''.join(printed[-5:])}"
    )
