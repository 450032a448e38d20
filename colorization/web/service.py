"""What every router of the server shares: its settings, the loaded model (or why it is not loaded), the photo cache,
the film store, and the work gates that keep memory bounded.

Heavy work (decoding, the network, full-size colour) runs one job at a time on a worker thread behind a bounded
queue; slider re-renders are screen-sized and run beside it. A request that finds the queue full is answered 503
with Retry-After before its body is read, so memory stays bounded whatever the number of clients.
"""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Callable, Optional, Union

import numpy as np
from fastapi import Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ..errors import ColorizationError
from ..picture_header import DEFAULT_MAX_PIXELS
from ..pipeline import Colorizer
from ..preparation import PreparedImage
from ..settings import ColorizerSettings
from .auth import LOOPBACK_NAMES
from .errors import WebError
from .film_jobs import FilmSettings
from .films import FilmStore
from .photos import PREVIEW_JPEG_QUALITY, PhotoCache, Renderer, encode
from .uploads import MEGABYTE, decode_upload, picture_from_body, read_body

log = logging.getLogger(__name__)

ModelSource = Union[Colorizer, ColorizerSettings, Callable[[], Colorizer]]
"""What a server is started with: a loaded model, the settings to load one from, or a function that loads one."""


@dataclass(frozen=True)
class WebSettings:
    """The server's limits and access rule; the defaults are the safe ones the command starts with."""

    token: Optional[str] = None
    allowed_hosts: Optional[tuple] = LOOPBACK_NAMES
    max_upload_bytes: int = 50 * MEGABYTE
    max_pixels: int = DEFAULT_MAX_PIXELS
    """Pictures above this many pixels are refused from their header (0: no limit), as by the commands' --max-pixels."""
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
                503,
                f"the server is busy ({self.waiting} {self.what} waiting): try again in {self.retry_after} s",
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


class WebService:
    """One server's state, built once and handed to each router: `heavy` runs the network and full-size work one
    job at a time, `previews` the screen-sized re-renders; `films` keeps the films and runs them."""

    def __init__(self, colorizer, settings: WebSettings, model_problem: str | None = None):
        self.settings = settings
        self.colorizer = colorizer
        self.model_problem = model_problem
        self.renderer = Renderer(colorizer, settings.default_temperature) if colorizer is not None else None
        self.cache = PhotoCache(settings.cache_bytes)
        self.heavy = WorkGate(1, settings.queue_size, settings.retry_after, "photos")
        self.previews = WorkGate(settings.preview_workers, settings.preview_queue, settings.retry_after, "previews")
        self.films = FilmStore(settings.films, self.renderer, settings.retry_after)

    @classmethod
    def load(cls, model: ModelSource, settings: WebSettings | None = None) -> WebService:
        """Around a Colorizer, the ColorizerSettings to load one from (what the command passes), or a loader
        returning one: a ColorizationError while loading (model files missing) is logged, kept, and shown by the
        page and the API instead of stopping the server."""
        settings = settings or WebSettings()
        if isinstance(model, Colorizer):
            return cls(model, settings)
        try:
            colorizer = Colorizer.load(model) if isinstance(model, ColorizerSettings) else model()
        except ColorizationError as error:
            log.error("error: %s (the page says so too)", error)
            return cls(None, settings, str(error))
        return cls(colorizer, settings)

    @asynccontextmanager
    async def running(self, app=None):
        """The app's lifespan: the film store takes over what a killed server left, and is closed when it stops."""
        await run_in_threadpool(self.films.open)
        try:
            yield
        finally:
            await run_in_threadpool(self.films.close)

    async def preview_jpeg(self, draw: Callable[[], np.ndarray]) -> Response:
        """A screen-size picture drawn and encoded behind the previews gate, as the page's JPEG (cached by the
        browser; Server-Timing says how long the drawing and encoding took)."""

        def job() -> tuple[bytes, float]:
            started = time.perf_counter()
            encoded = encode(draw(), "jpeg", PREVIEW_JPEG_QUALITY)
            return encoded, (time.perf_counter() - started) * 1000

        async with self.previews.slot():
            encoded, milliseconds = await self.previews.run(job)
        headers = {"Server-Timing": f"render;dur={milliseconds:.1f}", "Cache-Control": "private, max-age=3600"}
        return Response(encoded, media_type="image/jpeg", headers=headers)

    def need_model(self) -> Renderer:
        if self.renderer is None:
            raise WebError(503, f"the model is not loaded: {self.model_problem}")
        return self.renderer

    async def read_body(self, request: Request, limit: int) -> bytes:
        """The request's body within `limit` bytes and the stalled-upload rule."""
        return await read_body(request, limit, self.settings.body_idle_seconds, self.settings.min_upload_rate)

    async def read_picture(self, request: Request) -> tuple[bytes, str, dict[str, str]]:
        """The uploaded picture's bytes, the client's name for it and the form's text fields, within --max-upload-mb."""
        limit = self.settings.max_upload_bytes
        return picture_from_body(request.headers.get("content-type", ""), await self.read_body(request, limit), limit)

    def prepare(self, work: Renderer, data: bytes, name: str | None) -> PreparedImage:
        """An uploaded picture decoded within --max-pixels and prepared for the network (run it on a worker thread)."""
        return work.colorizer.prepare(decode_upload(data, name, self.settings.max_pixels))
