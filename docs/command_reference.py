#!/usr/bin/env python3
"""Write the option tables of docs/commands.md from the commands' own parsers, so the reference cannot drift from --help.

The prose of docs/commands.md is written by hand; each table sits between `<!-- options: NAME -->` and
`<!-- end options -->` and is replaced by this script. tests/test_docs.py fails when the file is not up to date.

    python -m docs.command_reference          # rewrite docs/commands.md in place
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from pathlib import Path

from colorization.commands import COMMANDS

REFERENCE = Path(__file__).with_name("commands.md")
TABLE = re.compile(r"(<!-- options: (\w+) -->\n).*?(<!-- end options -->)", re.S)
SHARED = "shared"
SHARED_GROUPS = ("model", "inference", "colour quality")
"""The option groups of every command that runs the network, defined once in colorization/commands/arguments.py."""
TABLE_NAMES = re.compile(r"<!-- options: (\w+) -->")
MACHINE_DEPENDENT_DEFAULTS = {"workers": "1, or 2 on a machine with 4 or more cores"}
"""Defaults computed where the command runs, said as the rule instead of this machine's value."""


def build_parser(name: str) -> argparse.ArgumentParser:
    """The parser of `python -m colorization NAME`."""
    module = importlib.import_module(f"colorization.commands.{COMMANDS[name][0]}")
    return module.build_parser(f"python -m colorization {name}")


def option_name(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    metavar = "" if action.nargs == 0 else " " + (action.metavar or action.dest.upper())
    if action.nargs in ("+", "*"):
        metavar += "..."
    return ", ".join(
        f"`{option}{metavar}`" if option.startswith("--") or action.nargs == 0 else f"`{option}`"
        for option in action.option_strings
    )


def default_text(action: argparse.Action) -> str:
    if action.required:
        return "(required)"
    if action.dest in MACHINE_DEPENDENT_DEFAULTS:
        return MACHINE_DEPENDENT_DEFAULTS[action.dest]
    default = action.default
    if (
        default in (None, False, argparse.SUPPRESS)
        or action.nargs == 0
        and default is True
        and not isinstance(action, argparse.BooleanOptionalAction)
    ):
        return ""
    if default == "":
        return "(empty)"
    if default is True:
        return "on"
    return f"`{default}`"


def help_text(action: argparse.Action) -> str:
    text = action.help or ""
    if action.choices is not None:
        text += f" (one of: {', '.join(map(str, action.choices))})"
    return text


def table(title: str, actions: list[argparse.Action]) -> list[str]:
    rows = [
        "| "
        + " | ".join(
            cell.replace("|", "\\|") for cell in (option_name(action), default_text(action), help_text(action))
        )
        + " |"
        for action in actions
    ]
    return [f"*{title}*", "", "| option | default | what it does |", "| --- | --- | --- |", *rows, ""]


def option_tables(name: str) -> str:
    """NAME's options, one table per argument group in --help's order. The groups every network command shares are
    listed once (`shared`, from the photo command); a command's table names only those of its own and the shared
    options whose default differs there."""
    parser = build_parser("photo" if name == SHARED else name)
    shared = {
        action.dest: action.default
        for group in build_parser("photo")._action_groups
        if group.title in SHARED_GROUPS
        for action in group._group_actions
    }
    lines = []
    for group in parser._action_groups:
        actions = [
            action
            for action in group._group_actions
            if not isinstance(action, (argparse._HelpAction, argparse._VersionAction))
        ]
        if name == SHARED:
            actions = actions if group.title in SHARED_GROUPS else []
        elif group.title in SHARED_GROUPS:
            actions = [action for action in actions if action.default != shared[action.dest]]
        if actions:
            lines += table(group.title, actions)
    present = [
        title.replace(" ", "-") for title in SHARED_GROUPS if title in {group.title for group in parser._action_groups}
    ]
    if name != SHARED and present:
        named = ", ".join(present[:-1]) + " and " + present[-1] if len(present) > 1 else present[0]
        lines += [f"And the [{named} options](#model-inference-and-colour-quality-options).", ""]
    return "\n".join(lines)


def render(text: str) -> str:
    """docs/commands.md with every table rewritten from its parser."""
    return TABLE.sub(lambda match: match.group(1) + option_tables(match.group(2)) + match.group(3), text)


def main() -> int:
    text = REFERENCE.read_text(encoding="utf-8")
    REFERENCE.write_text(render(text), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
