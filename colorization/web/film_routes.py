"""The film endpoints of the page and the REST API, as one APIRouter: upload (streamed to disk and probed), stills with
live settings, start, progress, cancel, download. The app's guard (host, token, security headers) covers them."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, Callable, Optional

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ..atomic import atomic_output
from ..errors import VideoError
from ..video.ffmpeg import probe
from ..video.io import VideoReader
from .errors import WebError
from .film_jobs import ACTIVE, SOURCE_NAME, FilmJob, FilmState, container_of, film_info
from .film_status import job_status
from .film_uploads import declared_length, receive_film
from .films import STOP_SECONDS, FilmStore
from .photos import Photo, Renderer, RenderSettings, display_name, parse_number, preview_of
from .service import WebService

STILL_SIDE = 640
"""Longest side of the stills kept for the film card (their scores are kept too, for live re-renders)."""
MAX_UPLOADS = 4
PLAYABLE = {"MP4/MOV": "video/mp4", "MOV": "video/mp4", "Matroska/WebM": "video/webm", "Ogg": "video/ogg"}
SETTING_NAMES = ("temperature", "saturation", "upsample")

TEMPERATURE = Query(None, description="annealed-mean temperature, 0.01-10: lower is more vivid (default: the server's)")
SATURATION = Query(None, description="chroma factor, 0-4, kept inside sRGB (default 1)")
UPSAMPLE = Query(None, description="guided (colour follows edges, the default) or bilinear")
AT = Query(None, description="seconds from the start of the film (default 0, its first frame)")
START = Query(
    None,
    description="true (default): queue the film at once; false: upload and probe only, start it later "
    "with POST /api/films/{id}/start",
)
FILM_BODY = {
    "requestBody": {
        "description": "the film, as a multipart field `file` (other fields: temperature, saturation, upsample, name) "
        "or as the raw body",
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}}}


def parse_start(value: str | None) -> bool:
    if value in (None, "", "true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise WebError(400, f"start must be true or false, got {str(value)[:20]!r}")


def still_key(job: FilmJob, at: float) -> str:
    return f"{job.job_id}_{round(at * 1000)}"


def make_still(job: FilmJob, at: float, work: Renderer, measure: bool = False) -> tuple[Photo, float | None]:
    """The frame at `at` seconds as the page keeps a photo (screen-sized L and the net's scores); with `measure`,
    also the seconds one frame's colour work takes at the film's size (prepare, network, full-size compose)."""
    try:
        info = probe(job.source)
        with VideoReader(info, at, None, frames=1) as reader:
            frame = next(reader.frames(), None)
    except VideoError:
        frame = None
    if frame is None:
        raise WebError(422, f"{job.name}: no frame at {at:g} s could be decoded")
    times = []
    for _ in range(2 if measure else 1):  # the better of two: the first run of a process fills lookup tables
        started = time.perf_counter()
        prepared = work.colorizer.prepare(frame)
        scores = work.scores(prepared)
        if measure:
            work.render(prepared, scores, RenderSettings())
        times.append(time.perf_counter() - started)
    seconds = min(times) if measure else None
    height, width = frame.shape[:2]
    return Photo(still_key(job, at), job.name, b"", width, height, scores, preview_of(prepared, STILL_SIDE)), seconds


class FilmRoutes:
    """The endpoints over the service's FilmStore; the stills share its photo cache and previews gate."""

    def __init__(self, service: WebService):
        self.service, self.need_model, self.cache = service, service.need_model, service.cache
        self.settings, self.limits = service.settings, service.settings.films
        self.store: FilmStore = service.films

    def router(self) -> APIRouter:
        router = APIRouter()
        add = router.add_api_route
        add(
            "/api/films",
            self.list_films,
            methods=["GET"],
            summary="The server's films, newest first, and its film limits",
        )
        add(
            "/api/films",
            self.add_film,
            methods=["POST"],
            status_code=202,
            openapi_extra=FILM_BODY,
            summary="Add a film: streamed to disk, probed, and (unless start=false) queued with these settings",
        )
        add(
            "/api/films/{film_id}/start",
            self.start_film,
            methods=["POST"],
            status_code=202,
            summary="Queue an uploaded film with these settings",
        )
        add(
            "/api/films/{film_id}",
            self.film_status,
            methods=["GET"],
            summary="A film's state, progress, time left and facts",
        )
        add(
            "/api/films/{film_id}/preview",
            self.film_preview,
            methods=["GET"],
            responses=JPEG,
            summary="A colorized still of the film at `at` seconds with these settings (the net runs once per still)",
        )
        add(
            "/api/films/{film_id}/grey",
            self.film_grey,
            methods=["GET"],
            responses=JPEG,
            summary="The film's frame at `at` seconds in grey (its L), for the card before the colour",
        )
        add(
            "/api/films/{film_id}/original",
            self.film_original,
            methods=["GET"],
            summary="The film as uploaded, for a player beside the colour one",
        )
        add(
            "/api/films/{film_id}/download",
            self.film_download,
            methods=["GET"],
            responses={200: {"content": {"video/mp4": {}}}},
            summary="The colorized film (MP4, with its sound); 409 until it is done",
        )
        add(
            "/api/films/{film_id}/cancel",
            self.cancel_film,
            methods=["POST"],
            summary="Stop a queued or running film: its partial output is removed, the upload kept",
        )
        add(
            "/api/films/{film_id}",
            self.delete_film,
            methods=["DELETE"],
            summary="Cancel a film if it runs, then delete it and its files",
        )
        return router

    # --- helpers ----------------------------------------------------------------------------------------------------

    def still(self, job: FilmJob, at: float) -> Photo:
        with contextlib.suppress(WebError):
            return self.cache.get(still_key(job, at))
        photo, _ = make_still(job, at, self.need_model())
        self.cache.add(photo)
        return photo

    def inspect(self, job: FilmJob, work: Renderer) -> None:
        """Probe the upload, take its first still and time it: the card's facts and the measured estimate."""
        job.describe(film_info(job.source, job.name, self.limits.max_seconds), self.limits.stills)
        photo, job.still_seconds = make_still(job, job.stills[0], work, measure=True)
        job.estimate_seconds = self.store.estimate(job)
        self.cache.add(photo)

    async def receive(self, request: Request, work: Renderer, name: str | None) -> tuple[FilmJob, dict]:
        """The request's film on disk, probed, as a job not yet added; the form's other fields."""
        folder = self.store.new_folder()
        try:
            self.store.check_space(declared_length(request, self.limits.max_bytes) or self.limits.max_bytes)
            with atomic_output(folder / SOURCE_NAME) as temporary:
                sent_name, fields = await receive_film(
                    request,
                    temporary,
                    self.limits.max_bytes,
                    self.settings.body_idle_seconds,
                    self.settings.min_upload_rate,
                )
            label = name or fields.get("name") or sent_name
            job = FilmJob(folder.name, display_name(label) if label.strip() else "film", folder)
            await run_in_threadpool(self.inspect, job, work)
        except BaseException:
            self.store.discard_upload(folder)
            raise
        return job, fields

    async def until_stopped(self, job: FilmJob) -> None:
        """Wait (a frame, usually) for the worker to let a cancelled film go, and a deleted one's folder to vanish."""
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline and not (
            self.store.stopped(job) and not (job.deleted and job.folder.exists())
        ):
            await asyncio.sleep(0.05)

    async def render_still(
        self, job: FilmJob, at: str | None, draw: Callable[[Renderer, Photo], np.ndarray]
    ) -> Response:
        work = self.need_model()
        seconds = 0.0 if at in (None, "") else parse_number("at", at, 0.0, job.duration or 1e9)
        return await self.service.preview_jpeg(lambda: draw(work, self.still(job, seconds)))

    # --- endpoints ----------------------------------------------------------------------------------------------------

    async def list_films(self):
        films = self.limits
        return {
            "films": [job_status(self.store, job) for job in self.store.listed()],
            "limits": {
                "max_bytes": films.max_bytes,
                "max_minutes": films.max_seconds / 60,
                "queue": films.queue_size,
                "keep_hours": films.keep_seconds / 3600,
            },
        }

    async def add_film(
        self,
        request: Request,
        start: Optional[str] = START,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
        name: Optional[str] = None,
    ):
        """Answers 202 with the film's status (`id`, `status_url`, ..., as GET /api/films/{id}) once it is queued, 201
        with start=false. 413 too large, 415 not a film, 422 a film that does not decode, 503 + Retry-After when
        the queue is full, 507 when the disk is short."""
        work = self.need_model()
        starting = parse_start(start)
        query = (temperature, saturation, upsample)
        RenderSettings.parse(*query)
        if len(self.store.uploads) >= MAX_UPLOADS:
            raise WebError(503, f"{MAX_UPLOADS} films are being uploaded: try again in a minute", {"Retry-After": "60"})
        with self.store.reservation() if starting else contextlib.nullcontext():
            job, fields = await self.receive(request, work, name)
            try:
                chosen = RenderSettings.parse(*(fields.get(key) or value for key, value in zip(SETTING_NAMES, query)))
            except WebError:
                self.store.discard_upload(job.folder)
                raise
            self.store.add(job)
            if starting:
                self.store.start(job, chosen, reserved=True)
        return JSONResponse(job_status(self.store, job), status_code=202 if starting else 201)

    async def start_film(
        self,
        film_id: str,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
    ):
        """Also starts again a film that failed or was cancelled; 409 when it is queued, running or done."""
        self.need_model()
        chosen = RenderSettings.parse(temperature, saturation, upsample)
        job = self.store.get(film_id)
        await run_in_threadpool(self.store.start, job, chosen)
        return JSONResponse(job_status(self.store, job), status_code=202)

    async def film_status(self, film_id: str):
        """`state`: ready (uploaded, not started), queued, running, done, failed or cancelled; `frames_done`,
        `frames_total`, `fps`, `eta_seconds`, `queue_position` (0 running, 1 next), `error`, `problems` (e.g. frames
        that did not decode), `estimate_seconds` (measured on the film's first still), and the film's facts."""
        return job_status(self.store, self.store.get(film_id))

    async def film_preview(
        self,
        film_id: str,
        at: Optional[str] = AT,
        temperature: Optional[str] = TEMPERATURE,
        saturation: Optional[str] = SATURATION,
        upsample: Optional[str] = UPSAMPLE,
    ):
        chosen = RenderSettings.parse(temperature, saturation, upsample)
        return await self.render_still(
            self.store.get(film_id), at, lambda work, photo: work.render(photo.preview, photo.scores, chosen)
        )

    async def film_grey(self, film_id: str, at: Optional[str] = AT):
        return await self.render_still(self.store.get(film_id), at, lambda work, photo: work.grey(photo.preview))

    async def film_original(self, film_id: str):
        job = self.store.get(film_id)
        with open(job.source, "rb") as handle:
            kind = PLAYABLE.get(container_of(handle.read(512)) or "", "application/octet-stream")
        return FileResponse(job.source, media_type=kind)

    async def film_download(self, film_id: str):
        job = self.store.get(film_id)
        if job.state != FilmState.DONE or not job.output.is_file():
            raise WebError(409, f"this film is {job.state}: its colour version can be downloaded once it is done")
        return FileResponse(job.output, media_type="video/mp4", filename=f"{job.name}_colorized.mp4")

    async def cancel_film(self, film_id: str):
        job = self.store.get(film_id)
        if await run_in_threadpool(self.store.cancel, job):
            await self.until_stopped(job)
        return job_status(self.store, job)

    async def delete_film(self, film_id: str):
        job = self.store.get(film_id)
        was = job.state
        if await run_in_threadpool(self.store.delete, job):
            await self.until_stopped(job)
        return {"id": job.job_id, "deleted": True, "state": FilmState.CANCELLED if was in ACTIVE else was}
