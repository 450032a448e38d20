"""One Ray head on this machine for the whole test session: `ray start --head` once, then every command run with
`--ray ADDRESS` only connects to it, as on a real cluster, instead of paying for a new Ray instance per test."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

HEAD_CPUS = 4
"""Logical CPUs of the test head: room for a model actor and reading/writing tasks beside it on 2 real cores."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_command() -> list[str]:
    return [str(Path(sys.executable).with_name("ray"))]


def start_head(temporary: Path) -> str:
    """Start a head node whose files live under `temporary`; return the address commands pass to --ray."""
    port = free_port()
    # A test head on this machine alone: no token to hand around (a real cluster keeps Ray's token authentication).
    os.environ["RAY_AUTH_MODE"] = "disabled"
    environment = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = subprocess.run(
        ray_command() + [
            "start", "--head", f"--port={port}", f"--num-cpus={HEAD_CPUS}", "--num-gpus=0",
            "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temporary}",
        ],
        check=True, capture_output=True, text=True, env=environment, timeout=120,
    )
    # Ray listens on the node's own address (the one its hint for joining nodes prints), not on 127.0.0.1.
    found = re.search(r"ray start --address='([^']+)'", started.stdout + started.stderr)
    return found.group(1) if found else f"127.0.0.1:{port}"


def stop_head() -> None:
    subprocess.run(ray_command() + ["stop", "--force"], capture_output=True, timeout=120)
