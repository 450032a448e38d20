"""The web page and REST API as one ASGI app, built around one loaded Colorizer.

`create_app(colorizer_or_loader, settings)` builds it, so the command serves the release model and the tests the
tiny one. Heavy work (decoding, the network, full-size colour) runs one job at a time on a worker thread behind a
bounded queue; slider re-renders are screen-sized and run beside it. A request that finds the queue full is answered
503 with Retry-After before its body is read, so memory stays bounded whatever the number of clients.
"""
from __future__ import annotations

import asyncio
import html
import io
import ipaddress
import json
import logging
import re
import secrets
import time
import zipfile
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Optional

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..errors import ColorizationError
from . import photos as photo_store
from .film_jobs import FilmSettings
from .film_routes import film_router
from .photos import FORMATS, Photo, PhotoCache, RenderSettings, Renderer, WebError, display_name
from .uploads import MEGABYTE, decode_upload, picture_from_body, read_body

log = logging.getLogger("colorization")

TOKEN_COOKIE = "colorize_token"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}
STATIC_FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/static/app.js": ("app.js", "text/javascript; charset=utf-8"),
    "/static/films.js": ("films.js", "text/javascript; charset=utf-8"),
    "/static/style.css": ("style.css", "text/css; charset=utf-8"),
    "/static/icon.svg": ("icon.svg", "image/svg+xml"),
}


@dataclass(frozen=True)
class WebSettings:
    """The server's limits and access rule; the defaults are the safe ones the command starts with."""

    token: Optional[str] = None
    allowed_hosts: Optional[tuple] = LOOPBACK_NAMES
    max_upload_bytes: int = 50 * MEGABYTE
    max_pixels: int = 100_000_000
    cache_bytes: int = 512 * MEGABYTE
    queue_size: int = 8
    preview_side: int = 1024
    preview_workers: int = 2
    preview_queue: int = 16
    retry_after: int = 2
    max_zip_photos: int = 100
    default_temperature: Optional[float] = None
    body_idle_seconds: float = 10.0
    """An upload that sends nothing for this long is cut (408) and its place in the queue freed."""
    min_upload_rate: int = 10 * 1024
    """Bytes per second an upload must average once it has run body_idle_seconds: a trickle cannot hold a place."""
    films: FilmSettings = FilmSettings()


def is_loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def new_token() -> str:
    return secrets.token_urlsafe(24)


class WorkGate:
    """At most `workers` jobs at a time and `queue` more waiting; beyond that a 503 with Retry-After."""

    def __init__(self, workers: int, queue: int, retry_after: int, what: str):
        self.workers = workers
        self.capacity = workers + queue
        self.retry_after = retry_after
        self.what = what
        self.pending = 0
        self.running = 0
        self.semaphore = asyncio.Semaphore(workers)

    @property
    def waiting(self) -> int:
        return self.pending - self.running

    @asynccontextmanager
    async def slot(self):
        """Held for the whole request, taken before its body is read."""
        if self.pending >= self.capacity:
            raise WebError(
                503, f"the server is busy ({self.waiting} {self.what} waiting): try again in {self.retry_after} s",
                {"Retry-After": str(self.retry_after)},
            )
        self.pending += 1
        try:
            yield
        finally:
            self.pending -= 1

    async def run(self, function, *args):
        async with self.semaphore:
            self.running += 1
            try:
                return await run_in_threadpool(function, *args)
            finally:
                self.running -= 1


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or {})


TEMPERATURE = Query(None, description="annealed-mean temperature, 0.01-10: lower is more vivid (default: the release's 0.38)")
SATURATION = Query(None, description="chroma factor, 0-4, kept inside sRGB: 0 is grey, 1 as predicted (default 1)")
UPSAMPLE = Query(None, description="guided (colour follows the photo's edges, the default) or bilinear")
FORMAT = Query(None, description="jpeg (default) or png")
QUALITY = Query(None, description="JPEG quality, 1-100 (default 95)")

PICTURE_BODY = {
    "requestBody": {
        "description": "the picture, as a multipart field `file` or as the raw body",
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}},
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def create_app(colorizer_or_loader, settings: WebSettings | None = None) -> FastAPI:
    """The app around a Colorizer, or a loader returning one: a loader's ColorizationError (model files missing)
    is kept and shown by the page and the API instead of stopping the server."""
    settings = settings or WebSettings()
    model_problem = None
    colorizer = colorizer_or_loader
    if callable(colorizer_or_loader) and not hasattr(colorizer_or_loader, "prepare"):
        try:
            colorizer = colorizer_or_loader()
        except ColorizationError as error:
            colorizer, model_problem = None, str(error)
    renderer = Renderer(colorizer, settings.default_temperature) if colorizer is not None else None
    cache = PhotoCache(settings.cache_bytes)
    heavy = WorkGate(1, settings.queue_size, settings.retry_after, "photos")
    previews = WorkGate(settings.preview_workers, settings.preview_queue, settings.retry_after, "previews")
    static = {path: (resources.files(__package__).joinpath("static", name).read_bytes(), kind) for path, (name, kind) in STATIC_FILES.items()}

    app = FastAPI(
        title="Colorize black-and-white photos",
        description="Zhang et al.'s Colorful Image Colorization, served from this machine. Errors are JSON "
        '`{"error": "..."}`.',
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.cache = cache
    app.state.heavy = heavy
    app.state.renderer = renderer

    def need_model() -> Renderer:
        if renderer is None:
            raise WebError(503, f"the model is not loaded: {model_problem}")
        return renderer

    app.include_router(film_router(need_model, cache, previews, settings))

    @app.exception_handler(WebError)
    async def web_error(request: Request, error: WebError):
        return error_response(error.status, error.message, error.headers)

    @app.exception_handler(ColorizationError)
    async def colorization_error(request: Request, error: ColorizationError):
        return error_response(400, str(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        message = {404: "no such page or endpoint", 405: "method not allowed here"}.get(error.status_code, str(error.detail))
        return error_response(error.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
        return error_response(400, f"{where}: {first.get('msg', 'invalid')}")

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, error: ClientDisconnect):
        """The client left before its request was read: nobody to answer, nothing to log as a failure."""
        log.info("web: %s %s: the client disconnected", request.method, request.url.path)
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception):
        log.exception("web: %s %s failed", request.method, request.url.path)
        return error_response(500, "the server failed on this request (the reason is in its log)")

    @app.middleware("http")
    async def guard(request: Request, call_next):
        """Host check (DNS rebinding), the token rule, and the security headers on every answer."""
        response = await admit(request)
        if response is None:
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    async def admit(request: Request):
        if settings.allowed_hosts is not None:
            host = request.headers.get("host", "")
            name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
            if name not in settings.allowed_hosts:
                return error_response(403, "this server answers only at http://127.0.0.1 (the Host header did not match)")
        if settings.token is None:
            return None
        header = request.headers.get("authorization", "")
        offered = [
            header[7:].strip() if header.lower().startswith("bearer ") else "",
            request.cookies.get(TOKEN_COOKIE, ""),
        ]
        if any(value and secrets.compare_digest(value.encode(), settings.token.encode()) for value in offered):
            return None
        in_url = request.query_params.get("token", "")
        if in_url and secrets.compare_digest(in_url.encode(), settings.token.encode()):
            if request.method == "GET" and not request.url.path.startswith("/api/"):
                redirect = RedirectResponse(request.url.path, status_code=303)
                redirect.set_cookie(TOKEN_COOKIE, settings.token, httponly=True, samesite="strict", path="/")
                return redirect
            return None
        return error_response(
            401, "this server needs its token: open the address it printed (with ?token=...) or send 'Authorization: Bearer TOKEN'",
            {"WWW-Authenticate": "Bearer"},
        )

    def static_response(path: str) -> Response:
        body, kind = static[path]
        return Response(body, media_type=kind, headers={"Cache-Control": "no-cache"})

    @app.get("/", include_in_schema=False)
    async def index():
        return static_response("/")

    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str):
        path = f"/static/{name}"
        if path not in static:
            raise WebError(404, "no such file")
        return static_response(path)

    @app.get("/docs", include_in_schema=False)
    async def docs():
        return Response(api_docs_page(app.openapi()), media_type="text/html; charset=utf-8")

    @app.get("/api/health", summary="Whether the model is loaded, what runs it, and how busy the server is")
    async def health():
        return {
            "model_loaded": renderer is not None,
            "problem": model_problem,
            "engine": colorizer.engine.description if colorizer is not None else None,
            "backend": colorizer.device if colorizer is not None else None,
            "queue_length": heavy.waiting,
            "running": heavy.running,
            "queue_limit": settings.queue_size,
            "photos_cached": len(cache),
            "cache_bytes": cache.nbytes,
            "max_upload_bytes": settings.max_upload_bytes,
            "max_pixels": settings.max_pixels,
            "defaults": None if renderer is None else {
                "temperature": round(renderer.default_temperature, 4),
                "saturation": renderer.default_saturation,
                "upsample": renderer.default_upsample,
            },
        }

    @app.post(
        "/api/colorize",
        summary="Colorize one picture: the image bytes in, the colorized image bytes out",
        openapi_extra=PICTURE_BODY,
        responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
    )
    async def colorize(
        request: Request,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
        format: Optional[str] = FORMAT,
        quality: Optional[str] = QUALITY,
    ):
        """Answers the image bytes, with their content type; the settings are those of `colorize.py`."""
        work = need_model()
        render_settings = RenderSettings.parse(temperature, saturation, upsample)
        format_name, level = photo_store.parse_format(format, quality)
        async with heavy.slot():
            data, sent_name = picture_from_body(request.headers.get("content-type", ""), await read_body(request, settings.max_upload_bytes, settings.body_idle_seconds, settings.min_upload_rate), settings.max_upload_bytes)

            def job() -> bytes:
                prepared = work.colorizer.prepare(decode_upload(data, sent_name, settings.max_pixels))
                return photo_store.encode(work.render(prepared, work.scores(prepared), render_settings), format_name, level)

            encoded = await heavy.run(job)
        return Response(encoded, media_type=FORMATS[format_name][1])

    @app.post("/api/photos", summary="Add a photo for the page: runs the network once and keeps its scores", openapi_extra=PICTURE_BODY)
    async def add_photo(request: Request, name: Optional[str] = None):
        work = need_model()
        async with heavy.slot():
            data, sent_name = picture_from_body(request.headers.get("content-type", ""), await read_body(request, settings.max_upload_bytes, settings.body_idle_seconds, settings.min_upload_rate), settings.max_upload_bytes)

            def job() -> Photo:
                start = time.perf_counter()
                prepared = work.colorizer.prepare(decode_upload(data, name or sent_name, settings.max_pixels))
                scores = work.scores(prepared)
                height, width = prepared.lightness.shape
                photo = Photo(cache.new_id(), display_name(name or sent_name), data, width, height, scores,
                              photo_store.preview_of(prepared, settings.preview_side))
                log.info("web: %s (%dx%d) colorized in %.0f ms", photo.name, width, height, (time.perf_counter() - start) * 1000)
                return photo

            photo = await heavy.run(job)
        cache.add(photo)
        preview_height, preview_width = photo.preview.lightness.shape
        return {"id": photo.photo_id, "name": photo.name, "width": photo.width, "height": photo.height,
                "preview_width": preview_width, "preview_height": preview_height}

    @app.get("/api/photos/{photo_id}/preview", summary="The photo colorized at screen size with these settings (no network run)",
             responses={200: {"content": {"image/jpeg": {}}}})
    async def preview(photo_id: str, temperature: Optional[str] = TEMPERATURE, saturation: Optional[str] = SATURATION, upsample: Optional[str] = UPSAMPLE):
        work = need_model()
        render_settings = RenderSettings.parse(temperature, saturation, upsample)
        photo = cache.get(photo_id)
        async with previews.slot():
            def job() -> tuple[bytes, float]:
                start = time.perf_counter()
                image = work.render(photo.preview, photo.scores, render_settings)
                return photo_store.encode(image, "jpeg", photo_store.PREVIEW_JPEG_QUALITY), (time.perf_counter() - start) * 1000

            encoded, milliseconds = await previews.run(job)
        return Response(encoded, media_type="image/jpeg",
                        headers={"Server-Timing": f"render;dur={milliseconds:.1f}", "Cache-Control": "private, max-age=3600"})

    @app.get("/api/photos/{photo_id}/grey", summary="The photo's grey version at screen size", responses={200: {"content": {"image/jpeg": {}}}})
    async def grey(photo_id: str):
        work = need_model()
        photo = cache.get(photo_id)
        async with previews.slot():
            encoded = await previews.run(lambda: photo_store.encode(work.grey(photo.preview), "jpeg", photo_store.PREVIEW_JPEG_QUALITY))
        return Response(encoded, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})

    def full_render(work: Renderer, photo: Photo, render_settings: RenderSettings, format_name: str, level: int) -> bytes:
        prepared = work.colorizer.prepare(decode_upload(photo.data, photo.name, settings.max_pixels))
        return photo_store.encode(work.render(prepared, photo.scores, render_settings), format_name, level)

    @app.get("/api/photos/{photo_id}/download", summary="The photo colorized at its full size with these settings",
             responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
    async def download(photo_id: str, temperature: Optional[str] = TEMPERATURE, saturation: Optional[str] = SATURATION,
                       upsample: Optional[str] = UPSAMPLE, format: Optional[str] = FORMAT, quality: Optional[str] = QUALITY):
        work = need_model()
        render_settings = RenderSettings.parse(temperature, saturation, upsample)
        format_name, level = photo_store.parse_format(format, quality)
        photo = cache.get(photo_id)
        async with heavy.slot():
            encoded = await heavy.run(full_render, work, photo, render_settings, format_name, level)
        extension = FORMATS[format_name][0]
        return Response(encoded, media_type=FORMATS[format_name][1],
                        headers={"Content-Disposition": f'attachment; filename="{photo.name}_colorized{extension}"'})

    @app.post("/api/zip", summary="Several photos colorized at full size, each with its own settings, as one ZIP",
              responses={200: {"content": {"application/zip": {}}}})
    async def download_zip(request: Request):
        """Body: `{"format": "jpeg", "quality": 95, "photos": [{"id": "...", "temperature": 0.38, "saturation": 1,
        "upsample": "guided"}, ...]}`."""
        work = need_model()
        try:
            request_body = json.loads(await read_body(request, MEGABYTE, settings.body_idle_seconds, settings.min_upload_rate))
            items = request_body["photos"]
        except (ValueError, KeyError, TypeError, RecursionError):
            items = None
        if not (isinstance(items, list) and items and all(isinstance(item, dict) for item in items)):
            raise WebError(400, 'send JSON {"photos": [{"id": "...", "temperature": ..., "saturation": ..., "upsample": ...}]}')
        if len(items) > settings.max_zip_photos:
            raise WebError(400, f"at most {settings.max_zip_photos} photos in one ZIP")
        format_name, level = photo_store.parse_format(request_body.get("format"), request_body.get("quality"))
        jobs = [
            (cache.get(str(item.get("id", ""))), RenderSettings.parse(item.get("temperature"), item.get("saturation"), item.get("upsample")))
            for item in items
        ]
        async with heavy.slot():
            def job() -> bytes:
                buffer, used = io.BytesIO(), set()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                    for photo, render_settings in jobs:
                        name, number = f"{photo.name}_colorized", 1
                        while name in used:
                            number += 1
                            name = f"{photo.name}_colorized_{number}"
                        used.add(name)
                        archive.writestr(name + FORMATS[format_name][0], full_render(work, photo, render_settings, format_name, level))
                return buffer.getvalue()

            encoded = await heavy.run(job)
        return Response(encoded, media_type="application/zip",
                        headers={"Content-Disposition": 'attachment; filename="colorized_photos.zip"'})

    return app


def api_docs_page(schema: dict) -> str:
    """The OpenAPI description as one plain page: Swagger UI would load its scripts from a CDN."""
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
        + "".join(rows) + "</body></html>"
    )


def code_spans(text: str) -> str:
    """Escaped text with its `backticked` parts as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))
