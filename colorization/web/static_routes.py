"""The page itself, as one APIRouter: index.html and its scripts, style and icon (read once, served from memory), and
/docs, the OpenAPI description as one plain page (Swagger UI would load its scripts from a CDN)."""

from __future__ import annotations

import html
import re
from importlib import resources
from typing import Callable

from fastapi import APIRouter
from fastapi.responses import Response

from .errors import WebError

STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/films.js": ("films.js", "text/javascript; charset=utf-8"),
    "/static/hints.js": ("hints.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
    "/static/icon.svg": ("icon.svg", "image/svg+xml"),
}
"""Every file the page is made of, by the path it is served at: nothing else under /static is ever read."""


class StaticRoutes:
    """`openapi` gives the app's OpenAPI description, for /docs."""

    def __init__(self, openapi: Callable[[], dict]):
        self.openapi = openapi
        folder = resources.files(__package__).joinpath("static")
        self.files = {path: (folder.joinpath(name).read_bytes(), kind) for path, (name, kind) in STATIC_FILES.items()}

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route("/", self.index, methods=["GET"], include_in_schema=False)
        router.add_api_route("/static/{name}", self.static_file, methods=["GET"], include_in_schema=False)
        router.add_api_route("/docs", self.docs, methods=["GET"], include_in_schema=False)
        return router

    def response(self, path: str) -> Response:
        body, kind = self.files[path]
        return Response(body, media_type=kind, headers={"Cache-Control": "no-cache"})

    async def index(self):
        return self.response("/")

    async def static_file(self, name: str):
        path = f"/static/{name}"
        if path not in self.files:
            raise WebError(404, "no such file")
        return self.response(path)

    async def docs(self):
        return Response(api_docs_page(self.openapi()), media_type="text/html; charset=utf-8")


def api_docs_page(schema: dict) -> str:
    """The OpenAPI description as one plain page: each endpoint with its summary, description, body and parameters."""
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            parameters = "".join(
                f"<li><code>{html.escape(p['name'])}</code> ({html.escape(p['in'])}) {html.escape(p.get('description', ''))}</li>"
                for p in operation.get("parameters", [])
            )
            body = operation.get("requestBody", {}).get("content", {})
            rows.append(
                f"<section><h2><span class='method'>{method.upper()}</span> <code>{html.escape(path)}</code></h2>"
                f"<p>{html.escape(operation.get('summary', ''))}</p>"
                f"<p>{code_spans(operation.get('description', ''))}</p>"
                + (f"<p>Body: {html.escape(', '.join(body))}</p>" if body else "")
                + (f"<ul>{parameters}</ul>" if parameters else "")
                + "</section>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width'>"
        f"<title>{html.escape(schema['info']['title'])} - API</title><link rel='stylesheet' href='/static/style.css'></head>"
        f"<body class='docs'><h1>{html.escape(schema['info']['title'])}: REST API</h1>"
        f"<p>{code_spans(schema['info'].get('description', ''))} Machine-readable: <a href='/openapi.json'>/openapi.json</a>.</p>"
        + "".join(rows)
        + "</body></html>"
    )


def code_spans(text: str) -> str:
    """Escaped text with its `backticked` parts as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
