#!/usr/bin/env python3
"""Colorize one or a few black-and-white photos: python colorize.py -i photo.jpg (the same as the installed command; see colorization/commands/colorize.py)."""

from colorization.commands.colorize import entry

if __name__ == "__main__":
    entry()
