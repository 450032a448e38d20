"""The REST API's own endpoints, as one APIRouter: one picture colorized in one call, and the server's health."""

from __future__ import annotations

from dataclasses import replace

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from . import photos as photo_store
from .errors import WebError
from .photos import (
    FORMATS,
    Renderer,
    RenderQuery,
    RenderSettings,
    parse_hints,
)
from .service import WebService
from .uploads import PICTURE_BODY


class ApiRoutes:
    """/api/colorize runs behind the service's heavy gate, as the page's photos do; /api/health only reads."""

    def __init__(self, service: WebService):
        self.service = service

    def router(self) -> APIRouter:
        router = APIRouter()
        router.add_api_route(
            "/api/health",
            self.health,
            methods=["GET"],
            summary="Whether the model is loaded, what runs it, and how busy the server is",
        )
        router.add_api_route(
            "/api/colorize",
            self.colorize,
            methods=["POST"],
            openapi_extra=PICTURE_BODY,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
            summary="Colorize one picture: the image bytes in, the colorized image bytes out",
        )
        return router

    async def health(self):
        service = self.service
        renderer, colorizer = service.renderer, service.colorizer
        return {
            "model_loaded": renderer is not None,
            "problem": service.model_problem,
            "engine": colorizer.engine.description if colorizer is not None else None,
            "backend": colorizer.device if colorizer is not None else None,
            "queue_length": service.heavy.waiting,
            "running": service.heavy.running,
            "queue_limit": service.settings.queue_size,
            "photos_cached": len(service.cache),
            "cache_bytes": service.cache.nbytes,
            "max_upload_bytes": service.settings.max_upload_bytes,
            "max_pixels": service.settings.max_pixels,
            "defaults": None
            if renderer is None
            else {
                "temperature": round(renderer.default_temperature, 4),
                "saturation": renderer.default_saturation,
                "upsample": renderer.default_upsample,
            },
        }

    async def colorize(self, request: Request, query: RenderQuery = Depends()):
        """Answers the image bytes, with their content type; the settings are those of `colorize.py`, the hints
        those of its --hints file (a query parameter, or a form field beside `file`)."""
        work = self.service.need_model()
        render_settings, format_name, level = query.parsed()
        async with self.service.heavy.slot():
            data, sent_name, fields = await self.service.read_picture(request)
            if "hints" in fields:
                if query.hints not in (None, ""):
                    raise WebError(400, "hints came both as a query parameter and as a form field: send them once")
                render_settings = replace(render_settings, hints=parse_hints(fields["hints"]))
            encoded = await self.service.heavy.run(
                self.colorized, work, data, sent_name, render_settings, format_name, level
            )
        return Response(encoded, media_type=FORMATS[format_name][1])

    def colorized(
        self, work: Renderer, data: bytes, name: str, render_settings: RenderSettings, format_name: str, level: int
    ) -> bytes:
        """The upload colorized at its full size and encoded (run on a worker thread); hints outside it are refused
        before the network runs."""
        prepared = self.service.prepare(work, data, name)
        height, width = prepared.lightness.shape
        render_settings.check_fits(width, height)
        return photo_store.encode(work.render(prepared, work.scores(prepared), render_settings), format_name, level)
