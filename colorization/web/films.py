"""The server's films: a store of jobs in a work folder it owns, and one worker thread that colorizes one film at a
time with colorize_video (the code video_colorize.py runs), while more wait in a bounded queue.

Uploads and outputs live on disk, never in memory. Each job's state is in its job.json, so a server killed mid-film
and started again says the film failed (a film that brought the server down must not bring it down again by being
restarted on its own); the upload is still there, and starting it again is one click. A clean exit removes the
server's films; finished ones are removed after --keep-films-hours anyway.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

from ..atomic import abandoned_temporaries, remove_abandoned_temporaries, writer_gone
from ..errors import Cancelled, ColorizationError
from ..video import VideoOptions, colorize_video
from .errors import WebError
from .film_jobs import (
    ACTIVE,
    FILM_ID,
    RECORD_NAME,
    STARTABLE,
    FilmJob,
    FilmSettings,
    FilmState,
    FrameProgress,
    JobColorizer,
    public_message,
    remove_folder,
)
from .photos import Renderer, RenderSettings

log = logging.getLogger(__name__)

SWEEP_SECONDS = 60.0
STOP_SECONDS = 30.0
DISK_RESERVE = 64 * (1 << 20)
"""Free space kept beyond what a film needs, so that a full disk never takes the server's other files down with it."""


class FilmStore:
    """Film jobs by id, the queue, and the worker that runs them."""

    def __init__(self, settings: FilmSettings, renderer: Renderer | None, retry_after: int = 2):
        self.settings = settings
        self.folder = settings.folder
        self.renderer = renderer
        self.retry_after = retry_after
        self.jobs: dict[str, FilmJob] = {}
        self.waiting: list[str] = []
        self.reserved = 0
        self.running: FilmJob | None = None
        self.uploads: set[Path] = set()
        self.calibration: float | None = None
        """The last film's measured seconds per frame over its still's, which the estimates are multiplied by."""
        self.condition = threading.Condition()
        self.closed = False
        self.worker = threading.Thread(target=self.work, name="film-worker", daemon=True)

    # --- start and stop ------------------------------------------------------------------------------------------

    def open(self) -> None:
        """Take over what a killed server left in the work folder, then start the worker."""
        if self.folder.is_dir():
            for folder in sorted(self.folder.iterdir()):
                if FILM_ID.match(folder.name) and folder.is_dir():
                    self.adopt(folder)
        self.worker.start()

    def adopt(self, folder: Path) -> None:
        if not (folder / RECORD_NAME).is_file():
            if len(abandoned_temporaries(folder)) == len(os.listdir(folder)):
                remove_folder(folder)  # an upload cut short by the kill
            return
        try:
            job = FilmJob.load(folder)
        except ValueError as error:
            log.warning("warning: %s: left as it is", error)
            return
        if job.owner != os.getpid() and not writer_gone(job.owner):
            return  # another server's, running now
        remove_abandoned_temporaries(folder, [job.output])
        if job.state in ACTIVE:
            what = "being colorized" if job.state == FilmState.RUNNING else "waiting"
            job.set_state(FilmState.FAILED, f"the server stopped while this film was {what}: colorize it again")
        elif job.state == FilmState.DONE and not job.output.is_file():
            job.set_state(
                FilmState.FAILED, "the colorized film is missing from the server's work folder: colorize it again"
            )
        job.owner = os.getpid()
        job.save()
        self.jobs[job.job_id] = job
        log.info("web: film %s (%s) taken over from a stopped server: %s", job.job_id, job.name, job.state)

    def close(self) -> None:
        """Stop the running film, then remove this server's films and uploads (a clean exit leaves nothing)."""
        with self.condition:
            self.closed = True
            if self.running is not None:
                self.running.cancel.set()
            self.condition.notify_all()
        if self.worker.is_alive():
            self.worker.join(STOP_SECONDS)
        for folder in [job.folder for job in self.jobs.values()] + list(self.uploads):
            remove_folder(folder)
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # only when nothing else is in it

    # --- uploads ----------------------------------------------------------------------------------------------------

    def new_folder(self) -> Path:
        """A fresh folder for an upload, named by the server."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        folder = self.folder / secrets.token_urlsafe(12)
        folder.mkdir(mode=0o700)
        self.uploads.add(folder)
        return folder

    def discard_upload(self, folder: Path) -> None:
        self.uploads.discard(folder)
        remove_folder(folder)

    def check_space(self, incoming: int) -> None:
        """507 unless the work folder's disk holds the upload, a colour film as large, and the reserve."""
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        free = shutil.disk_usage(self.folder).free
        needed = 2 * incoming + DISK_RESERVE
        if free < needed:
            raise WebError(
                507,
                f"the server's disk is short of space for this film ({free / (1 << 20):.0f} MB free, "
                f"{needed / (1 << 20):.0f} MB needed): delete finished films or try a smaller one",
            )

    def add(self, job: FilmJob) -> None:
        job.owner = os.getpid()
        job.save()
        with self.condition:
            self.uploads.discard(job.folder)
            self.jobs[job.job_id] = job

    def get(self, job_id: str) -> FilmJob:
        job = self.jobs.get(job_id) if FILM_ID.match(job_id or "") else None
        if job is None:
            raise WebError(404, "no such film on this server (deleted, expired, or never uploaded)")
        return job

    def listed(self) -> list[FilmJob]:
        return sorted(self.jobs.values(), key=lambda job: job.created, reverse=True)

    # --- the queue ------------------------------------------------------------------------------------------------

    def full(self) -> bool:
        return len(self.waiting) + self.reserved + (self.running is not None) > self.settings.queue_size

    def busy_error(self) -> WebError:
        left = self.running.progress.seconds_left if self.running and self.running.progress else None
        wait = max(self.retry_after, min(300, round(left or 0)))
        return WebError(
            503,
            f"the film queue is full ({len(self.waiting)} waiting): try again in {wait} s",
            {"Retry-After": str(wait)},
        )

    @contextlib.contextmanager
    def reservation(self):
        """A place in the queue held while an upload that is to start at once is read."""
        with self.condition:
            if self.full():
                raise self.busy_error()
            self.reserved += 1
        try:
            yield
        finally:
            with self.condition:
                self.reserved -= 1

    def start(self, job: FilmJob, settings: RenderSettings, reserved: bool = False) -> None:
        """Queue a film with these settings; one that failed or was cancelled may be started again."""
        if job.state not in STARTABLE:
            raise WebError(
                409, f"this film is {job.state}: only a film that is ready, failed or cancelled can be started"
            )
        if not job.source.is_file():
            raise WebError(410, "this film's upload is gone from the server: upload it again")
        with self.condition:
            if not reserved and self.full():
                raise self.busy_error()
            job.settings = {key: getattr(settings, key) for key in ("temperature", "saturation", "upsample")}
            job.frames_done, job.problems, job.run_seconds, job.cancel = 0, [], None, threading.Event()
            job.set_state(FilmState.QUEUED)
            job.estimate_seconds = self.estimate(job)
            job.save()
            self.waiting.append(job.job_id)
            self.condition.notify_all()

    def estimate(self, job: FilmJob) -> float | None:
        """The film's frames at the speed measured on its first still, corrected by what the last film here took."""
        if job.still_seconds is None or job.frames_total is None:
            return None
        return job.frames_total * job.still_seconds * (self.calibration or 1.0)

    def position(self, job: FilmJob) -> int | None:
        """0 running, 1 next, ...; None when it is not in the queue."""
        if job is self.running:
            return 0
        return self.waiting.index(job.job_id) + 1 if job.job_id in self.waiting else None

    def seconds_until_done(self, job: FilmJob) -> float | None:
        """Time left: the running film's from its rate, a queued one's adding the estimates of those ahead."""
        if job.state == FilmState.RUNNING and job.progress is not None:
            left = job.progress.seconds_left
            return left if left is not None else job.estimate_seconds
        if job.state != FilmState.QUEUED:
            return None
        ahead = [self.running] if self.running else []
        ahead += [self.jobs[job_id] for job_id in self.waiting[: self.waiting.index(job.job_id)]]
        parts = [self.seconds_until_done(other) for other in ahead] + [job.estimate_seconds]
        known = [part for part in parts if part is not None]
        return sum(known) if len(known) == len(parts) else None

    # --- cancel and delete ----------------------------------------------------------------------------------------

    def cancel(self, job: FilmJob) -> bool:
        """Stop a queued or running film; True while the worker still has to let it go (see `stopped`)."""
        with self.condition:
            if job.job_id in self.waiting:
                self.waiting.remove(job.job_id)
                job.set_state(FilmState.CANCELLED, "cancelled before it started")
                job.save()
                return False
            if job is self.running:
                job.cancel.set()
                return True
        raise WebError(409, f"this film is {job.state}: there is nothing to cancel")

    def stopped(self, job: FilmJob) -> bool:
        return job is not self.running

    def delete(self, job: FilmJob) -> bool:
        """Cancel it and forget it; its folder goes now, or once the worker has let it go (True)."""
        with self.condition:
            job.deleted = True
            self.jobs.pop(job.job_id, None)
            if job.job_id in self.waiting:
                self.waiting.remove(job.job_id)
            if job is self.running:
                job.cancel.set()
                return True
        remove_folder(job.folder)
        return False

    # --- the worker -----------------------------------------------------------------------------------------------

    def work(self) -> None:
        while True:
            with self.condition:
                if not self.waiting and not self.closed:
                    self.condition.wait(SWEEP_SECONDS)
                if self.closed:
                    return
                job = self.jobs.get(self.waiting.pop(0)) if self.waiting else None
                self.running = job
            try:
                if job is not None:
                    self.run(job)
                self.sweep()
            except Exception:  # the worker must outlive any one film
                log.exception("web: the film worker failed")
            finally:
                with self.condition:
                    self.running = None
                    gone = job.folder if job is not None and job.deleted else None
                if gone is not None:
                    remove_folder(gone)

    def run(self, job: FilmJob) -> None:
        job.progress = FrameProgress(job.frames_total)
        with self.condition:
            job.set_state(FilmState.RUNNING)
            job.save()
        started = time.monotonic()
        options = VideoOptions(end=None if job.duration else self.settings.max_seconds)
        try:
            if self.renderer is None:
                raise ColorizationError("the model is not loaded")
            result = colorize_video(
                JobColorizer(self.renderer, job.render_settings()),
                job.source,
                job.output,
                options,
                quiet=True,
                progress=job.progress,
                cancel=job.cancel,
            )
        except Cancelled:
            job.set_state(FilmState.CANCELLED, "cancelled: its partial output was removed")
        except ColorizationError as error:
            job.set_state(FilmState.FAILED, public_message(str(error), job))
        except Exception:
            log.exception("web: film %s failed", job.job_id)
            job.set_state(FilmState.FAILED, "the server failed on this film (the reason is in its log)")
        else:
            job.frames_done, job.run_seconds = result.frames, time.monotonic() - started
            job.problems = [public_message(problem, job) for problem in result.problems]
            if job.still_seconds and result.frames:
                self.calibration = job.run_seconds / result.frames / job.still_seconds
            job.set_state(FilmState.CANCELLED if job.cancel.is_set() else FilmState.DONE)
            log.info("web: film %s: %s", job.job_id, public_message(result.line(), job))
        finally:
            job.frames_done = job.frames_done or job.progress.done
            with self.condition:
                if not job.deleted:
                    if job.state != FilmState.DONE:
                        job.output.unlink(missing_ok=True)
                    job.save()

    def sweep(self) -> None:
        """Remove the films not touched for --keep-films-hours (finished, failed, or uploaded and never started)."""
        limit = time.time() - self.settings.keep_seconds
        with self.condition:
            expired = [job for job in self.jobs.values() if job.state not in ACTIVE and job.updated < limit]
            for job in expired:
                del self.jobs[job.job_id]
        for job in expired:
            log.info(
                "web: film %s (%s) removed after %g hours", job.job_id, job.name, self.settings.keep_seconds / 3600
            )
            remove_folder(job.folder)
