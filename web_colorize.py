#!/usr/bin/env python3
"""Colorize photos in the browser, and serve the same over a REST API: python web_colorize.py (the same as the
installed command; see colorization/commands/web.py)."""

from colorization.commands.web import entry

if __name__ == "__main__":
    entry()
