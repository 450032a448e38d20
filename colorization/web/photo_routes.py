"""The page's photo endpoints, as one APIRouter: add a photo (the network runs once and its scores are kept), then
previews at screen size with any settings, its grey version, full-size downloads, and several at once as a ZIP."""

from __future__ import annotations

import io
import json
import logging
import time
import zipfile
from typing import Any, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from . import photos as photo_store
from .errors import WebError
from .photos import (
    FORMATS,
    HINTS,
    SATURATION,
    TEMPERATURE,
    UPSAMPLE,
    Photo,
    Renderer,
    RenderQuery,
    RenderSettings,
    display_name,
)
from .service import WebService
from .uploads import MEGABYTE, PICTURE_BODY

log = logging.getLogger(__name__)

JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}}}
ZIP: dict[int | str, dict[str, Any]] = {200: {"content": {"application/zip": {}}}}
PICTURES: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}, "image/png": {}}}}
ZIP_REQUEST = (
    'send JSON {"photos": [{"id": "...", "temperature": ..., "saturation": ..., "upsample": ..., "hints": [...]}]}'
)


class PhotoRoutes:
    """The photo endpoints over the service's photo cache: the full-size work behind its heavy gate, previews behind
    the previews gate."""

    def __init__(self, service: WebService):
        self.service = service
        self.cache = service.cache

    def router(self) -> APIRouter:
        router = APIRouter()
        add = router.add_api_route
        add(
            "/api/photos",
            self.add_photo,
            methods=["POST"],
            openapi_extra=PICTURE_BODY,
            summary="Add a photo for the page: runs the network once and keeps its scores",
        )
        add(
            "/api/photos/{photo_id}/preview",
            self.preview,
            methods=["GET"],
            responses=JPEG,
            summary="The photo colorized at screen size with these settings (no network run)",
        )
        add(
            "/api/photos/{photo_id}/grey",
            self.grey,
            methods=["GET"],
            responses=JPEG,
            summary="The photo's grey version at screen size",
        )
        add(
            "/api/photos/{photo_id}/download",
            self.download,
            methods=["GET"],
            responses=PICTURES,
            summary="The photo colorized at its full size with these settings",
        )
        add(
            "/api/zip",
            self.download_zip,
            methods=["POST"],
            responses=ZIP,
            summary="Several photos colorized at full size, each with its own settings, as one ZIP",
        )
        return router

    # --- helpers ----------------------------------------------------------------------------------------------------

    def new_photo(self, work: Renderer, data: bytes, name: str) -> Photo:
        """The photo as the cache keeps it: the network's scores and a screen-sized L (run on a worker thread)."""
        start = time.perf_counter()
        prepared = self.service.prepare(work, data, name)
        scores = work.scores(prepared)
        height, width = prepared.lightness.shape
        photo = Photo(
            self.cache.new_id(),
            display_name(name),
            data,
            width,
            height,
            scores,
            photo_store.preview_of(prepared, self.service.settings.preview_side),
        )
        log.info(
            "web: %s (%dx%d) colorized in %.0f ms", photo.name, width, height, (time.perf_counter() - start) * 1000
        )
        return photo

    def full_render(
        self, work: Renderer, photo: Photo, render_settings: RenderSettings, format_name: str, level: int
    ) -> bytes:
        """The photo decoded again at its full size and coloured from its kept scores (run on a worker thread)."""
        prepared = self.service.prepare(work, photo.data, photo.name)
        return photo_store.encode(work.render(prepared, photo.scores, render_settings), format_name, level)

    def zip_of(self, work: Renderer, jobs: list[tuple[Photo, RenderSettings]], format_name: str, level: int) -> bytes:
        """The photos rendered in full into one ZIP, each named after its photo (numbered when two share a name)."""
        buffer, used = io.BytesIO(), set()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
            for photo, render_settings in jobs:
                name, number = f"{photo.name}_colorized", 1
                while name in used:
                    number += 1
                    name = f"{photo.name}_colorized_{number}"
                used.add(name)
                archive.writestr(
                    name + FORMATS[format_name][0], self.full_render(work, photo, render_settings, format_name, level)
                )
        return buffer.getvalue()

    def zip_job(self, item: dict, number: int) -> tuple[Photo, RenderSettings]:
        """One photo of a ZIP request with its settings, checked before any work starts (a bad one names its place)."""
        photo = self.cache.get(str(item.get("id", "")))
        try:
            render_settings = RenderSettings.parse(
                item.get("temperature"), item.get("saturation"), item.get("upsample"), item.get("hints")
            )
            render_settings.check_fits(photo.width, photo.height)
        except WebError as error:
            raise WebError(error.status, f"photo {number}: {error.message}") from None
        return photo, render_settings

    async def zip_request(self, request: Request) -> dict:
        """The ZIP request's JSON, checked: a list of photo objects, no more than --max-zip-photos of them."""
        try:
            body = json.loads(await self.service.read_body(request, MEGABYTE))
            items = body["photos"]
        except (ValueError, KeyError, TypeError, RecursionError):
            items = None
        if not (isinstance(items, list) and items and all(isinstance(item, dict) for item in items)):
            raise WebError(400, ZIP_REQUEST)
        if len(items) > self.service.settings.max_zip_photos:
            raise WebError(400, f"at most {self.service.settings.max_zip_photos} photos in one ZIP")
        return body

    # --- endpoints ----------------------------------------------------------------------------------------------------

    async def add_photo(self, request: Request, name: Optional[str] = None):
        work = self.service.need_model()
        heavy = self.service.heavy
        async with heavy.slot():
            data, sent_name, _ = await self.service.read_picture(request)
            photo = await heavy.run(self.new_photo, work, data, name or sent_name)
        self.cache.add(photo)
        preview_height, preview_width = photo.preview.lightness.shape
        return {
            "id": photo.photo_id,
            "name": photo.name,
            "width": photo.width,
            "height": photo.height,
            "preview_width": preview_width,
            "preview_height": preview_height,
        }

    async def preview(
        self,
        photo_id: str,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
        hints: Optional[str] = HINTS,
    ):
        work = self.service.need_model()
        render_settings = RenderSettings.parse(temperature, saturation, upsample, hints)
        photo = self.cache.get(photo_id)
        render_settings.check_fits(photo.width, photo.height)
        return await self.service.preview_jpeg(
            lambda: work.render(photo.preview, photo.scores, render_settings, (photo.width, photo.height))
        )

    async def grey(self, photo_id: str):
        work = self.service.need_model()
        photo = self.cache.get(photo_id)
        return await self.service.preview_jpeg(lambda: work.grey(photo.preview))

    async def download(self, photo_id: str, query: RenderQuery = Depends()):
        work = self.service.need_model()
        render_settings, format_name, level = query.parsed()
        photo = self.cache.get(photo_id)
        render_settings.check_fits(photo.width, photo.height)
        async with self.service.heavy.slot():
            encoded = await self.service.heavy.run(self.full_render, work, photo, render_settings, format_name, level)
        extension, media_type = FORMATS[format_name]
        return Response(
            encoded,
            media_type=media_type,
            headers={"Content-Disposition": f'attachment; filename="{photo.name}_colorized{extension}"'},
        )

    async def download_zip(self, request: Request):
        """Body: `{"format": "jpeg", "quality": 95, "photos": [{"id": "...", "temperature": 0.38, "saturation": 1,
        "upsample": "guided", "hints": [{"x": 120, "y": 340, "colour": "#b22222"}]}, ...]}`."""
        work = self.service.need_model()
        body = await self.zip_request(request)
        format_name, level = photo_store.parse_format(body.get("format"), body.get("quality"))
        jobs = [self.zip_job(item, number) for number, item in enumerate(body["photos"], 1)]
        async with self.service.heavy.slot():
            encoded = await self.service.heavy.run(self.zip_of, work, jobs, format_name, level)
        return Response(
            encoded,
            media_type="application/zip",
            headers={"Content-Disposition": 'attachment; filename="colorized_photos.zip"'},
        )
