"""The local web page and REST API (web_colorize.py): create_app builds the ASGI app around one Colorizer."""
from .app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
