#!/usr/bin/env python3
"""Fetch and verify the release model files: python fetch_models.py (the same as the installed command; see colorization/commands/fetch.py)."""

from colorization.commands.fetch import entry

if __name__ == "__main__":
    entry()
