"""Helpers the tests share: generated model files, fixtures' locations, small checks used in several test files."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REFERENCE_ENV = "COLORIZE_REFERENCE_DIR"
IMAGES_ENV = "COLORIZE_TEST_IMAGES"
DOMINANT_AB = (20, 30)
"""A warm tone that sRGB can hold at most lightnesses; a bin of both the release points and the stand-in."""
