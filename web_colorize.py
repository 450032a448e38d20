#!/usr/bin/env python3
"""Colorize photos in the browser, and serve the same over a REST API: python web_colorize.py"""
import sys

from colorization import cli
from colorization.commands.web import main

if __name__ == "__main__":
    sys.exit(cli.run(main))
