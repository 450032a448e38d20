#!/usr/bin/env python3
"""Colorize a folder tree into a mirror of it: python batch_colorize.py scans/ colour/ (the same as the installed command; see colorization/commands/batch.py)."""

from colorization.commands.batch import entry

if __name__ == "__main__":
    entry()
