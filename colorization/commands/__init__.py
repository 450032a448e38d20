"""The commands, one module each (argument parsing, printing, exit codes); the package computes and raises.

Each module has `main(argv, prog) -> exit code` and `entry()`, the installed command. `python -m colorization NAME`
runs any of them.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "photo": ("colorize", "colorize one or a few photos (the colorize command)"),
    "batch": ("batch", "colorize a folder tree into a mirror of it (colorize-batch)"),
    "video": ("video", "colorize films with their sound (colorize-video)"),
    "fetch": ("fetch", "download and verify the model files (colorize-fetch)"),
    "eval": ("evaluate", "score settings on your own colour photos (colorize-eval)"),
    "web": ("web", "the web page and REST API on this machine (colorize-web)"),
    "engines": ("engines", "measure this machine's engines, keep the fastest for --engine auto (colorize-engines)"),
}
"""Subcommand of `python -m colorization` -> (module in this package, what it does)."""
USAGE = (
    "usage: python -m colorization {"
    + ",".join(COMMANDS)
    + "} [options]   (NAME --help for each)\n\n"
    + "\n".join(f"  {name:<7} {summary}" for name, (_, summary) in COMMANDS.items())
)


def main(argv: list[str] | None = None) -> int:
    from .running import EXIT_USAGE, run

    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else EXIT_USAGE
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(
            f"error: no command {name!r}: choose one of {', '.join(COMMANDS)} (python -m colorization --help)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    module = importlib.import_module(f"{__name__}.{COMMANDS[name][0]}")
    return run(lambda arguments: module.main(arguments, prog=f"python -m colorization {name}"), rest)
