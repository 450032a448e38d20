"""What the command benchmarks run: the defaults a user gets unless --engine, --precision or --upsample say otherwise,
and the line that names what really ran (engine, backend, precision), read from the command's own -v output."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

from colorization.commands import arguments

SETTINGS = ("engine", "precision", "upsample")


def add_setting_options(parser: argparse.ArgumentParser, command: str) -> None:
    """--engine, --precision and --upsample, passed on to the command only when given: by default it runs as a user
    runs it, with its own defaults."""
    defaults = arguments.new_parser("benchmark", "")
    arguments.add_model_options(defaults)
    for name in SETTINGS:
        default = defaults.get_default(name)
        parser.add_argument(f"--{name}", help=f"{command}'s --{name} (default: its own, {default})")


def setting_arguments(args: argparse.Namespace) -> list[str]:
    return [argument for name in SETTINGS if getattr(args, name) for argument in (f"--{name}", getattr(args, name))]


def describe(args: argparse.Namespace) -> str:
    given = setting_arguments(args)
    return " ".join(given) if given else "the defaults"


ENGINE_LINE = re.compile(r"^engine: (?!\w+ for --engine auto)(.+)$", re.M)


def engine_that_ran(stderr: str) -> str:
    """The engine line a command's -v prints after loading (runtime, backend and precision)."""
    found = ENGINE_LINE.findall(stderr)
    return found[-1] if found else "(not said: run with -v)"


LOAD_ONCE = (
    "import sys\n"
    "from colorization import Colorizer\n"
    "files = dict(zip(('prototxt', 'caffemodel', 'points'), sys.argv[1:4]))\n"
    "settings = dict(zip(sys.argv[4::2], sys.argv[5::2]))\n"
    "Colorizer.load(**files, **settings, download=False)"
)


def compile_once(model: dict, args: argparse.Namespace) -> None:
    """Load the model once with these settings, untimed and in a process of its own, so that the compiled model and
    the runtime's own form of it exist: what is timed is an everyday run, not a machine's first."""
    settings = [item for name in SETTINGS if getattr(args, name) for item in (name, getattr(args, name))]
    files = [str(model[key]) for key in ("prototxt", "caffemodel", "points")]
    subprocess.run([sys.executable, "-c", LOAD_ONCE, *files, *settings], check=True)
