"""The local web page and REST API (web_colorize.py): create_app builds the ASGI app around one Colorizer."""

from .app import app_for, create_app
from .service import WebService, WebSettings

__all__ = ["WebService", "WebSettings", "app_for", "create_app"]
