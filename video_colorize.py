#!/usr/bin/env python3
"""Colorize films frame by frame, with their sound: python video_colorize.py -i reel.mp4 (the same as the installed command; see colorization/commands/video.py)."""

from colorization.commands.video import entry

if __name__ == "__main__":
    entry()
