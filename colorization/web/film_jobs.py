"""One film job as the server keeps it: its state, what probing found, its settings, and how it is written to disk
(a JSON file per job, replaced atomically) so that a restarted server knows what a killed one was doing.

What an upload is, is decided here by probing it with ffmpeg, never by its name: 415 for what is not a film, 422
for a film that does not decode.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field, fields
from pathlib import Path

import platformdirs

from ..atomic import write_bytes_atomically
from ..errors import VideoError
from ..model import annealed_mean
from ..paths import display_path
from ..status import WordEnum
from ..video.ffmpeg import VideoInfo, probe
from .errors import WebError
from .photos import Renderer, RenderSettings
from .uploads import MEGABYTE

FILM_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SOURCE_NAME = "original"
OUTPUT_NAME = "colorized.mp4"
RECORD_NAME = "job.json"
RUNTIME_FIELDS = ("folder", "cancel", "progress", "deleted")

CONTAINERS = (
    (4, b"ftyp", "MP4/MOV"),
    (4, b"moov", "MOV"),
    (4, b"mdat", "MOV"),
    (4, b"wide", "MOV"),
    (4, b"free", "MOV"),
    (0, b"\x1a\x45\xdf\xa3", "Matroska/WebM"),
    (8, b"AVI ", "AVI"),
    (0, b"\x00\x00\x01\xba", "MPEG"),
    (0, b"\x00\x00\x01\xb3", "MPEG"),
    (0, b"OggS", "Ogg"),
    (0, b"FLV", "FLV"),
    (0, b"GIF8", "GIF"),
    (0, bytes.fromhex("3026b2758e66cf11"), "WMV/ASF"),
)
"""Where a film container says what it is: a file that starts so but does not probe is a damaged film (422), not
'not a film' (415)."""
PICTURES = (b"\xff\xd8\xff", b"\x89PNG", b"BM", b"II*\x00", b"MM\x00*")


class FilmState(WordEnum):
    """Where a film job is in its life on the server: job.json's and the REST API's `state`.

    Not colorization.status.Status: a status is said once, when an input's work is over, while a job moves through
    these states (and back to queued when it is started again), and the page shows each."""

    READY = "ready"
    """Uploaded and probed, waiting to be started with its settings."""
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE = (FilmState.QUEUED, FilmState.RUNNING)
STARTABLE = (FilmState.READY, FilmState.FAILED, FilmState.CANCELLED)
"""The states a film can be started (again) from."""


@dataclass(frozen=True)
class FilmSettings:
    """The film limits of the server (web_colorize.py's --work-dir, --max-film-mb, ...)."""

    work_dir: Path | None = None
    """None: web-films in the user's cache folder."""
    max_bytes: int = 2048 * MEGABYTE
    max_seconds: float = 180 * 60
    keep_seconds: float = 24 * 3600
    queue_size: int = 4
    """Films waiting beyond the one running; more get 503 with Retry-After."""
    stills: int = 4

    @property
    def folder(self) -> Path:
        return (
            Path(self.work_dir)
            if self.work_dir
            else Path(platformdirs.user_cache_dir("colorization", appauthor=False)) / "web-films"
        )


def container_of(head: bytes) -> str | None:
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "MPEG-TS"
    return next((name for offset, magic, name in CONTAINERS if head[offset : offset + len(magic)] == magic), None)


def film_info(path: Path, label: str, max_seconds: float) -> VideoInfo:
    """What ffmpeg finds in the upload, or the 4xx that says why it is not a film this server takes."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head:
        raise WebError(422, f"{label}: the upload is empty (0 bytes)")
    if head.startswith(PICTURES) or head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise WebError(415, f"{label} is a picture, not a film: add it as a photo")
    try:
        info = probe(path)
    except VideoError as error:
        reason = str(error).split(": ", 1)[-1]
        words = re.search(r"\(([^()]+)\)", reason)
        ffmpeg_says = f"ffmpeg: {words.group(1) if words else reason}"
        container = container_of(head)
        if "no video stream" in reason:
            raise WebError(415, f"{label} has no video stream (a sound file?): send a film") from None
        if container is None:
            raise WebError(
                415,
                f"{label} is not a film this server reads ({ffmpeg_says}): send an MP4, MOV, MKV, AVI, "
                "WebM or MPEG film",
            ) from None
        raise WebError(
            422,
            f"{label} starts as a film ({container}) but does not decode: it is truncated or damaged ({ffmpeg_says})",
        ) from None
    if info.duration is not None and info.duration > max_seconds:
        raise WebError(
            413,
            f"{label} lasts {info.duration / 60:.0f} min: this server takes films up to "
            f"{max_seconds / 60:g} min (--max-film-minutes)",
        )
    return info


def still_times(duration: float | None, count: int) -> list[float]:
    """Where the preview stills are taken: the middles of `count` equal parts of the film (its start if unknown)."""
    if not duration:
        return [0.0]
    return [round(duration * (index + 0.5) / count, 3) for index in range(count)]


class FrameProgress:
    """colorize_video's progress hook (tqdm's update()): frames done, and the rate over the last few seconds, for
    the status and its time left."""

    WINDOW = 120

    def __init__(self, total: int | None):
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self.marks: deque[tuple[float, int]] = deque([(self.started, 0)], maxlen=self.WINDOW)

    def update(self, count: int = 1) -> None:
        self.done += count
        self.marks.append((time.monotonic(), self.done))

    @property
    def fps(self) -> float | None:
        marks = list(self.marks)
        (first_time, first_done), (last_time, last_done) = marks[0], marks[-1]
        return (
            (last_done - first_done) / (last_time - first_time)
            if last_done > first_done and last_time > first_time
            else None
        )

    @property
    def seconds_left(self) -> float | None:
        rate = self.fps
        return None if rate is None or self.total is None else max(0.0, (self.total - self.done) / rate)


@dataclass
class FilmJob:
    """A film on the server; job.json holds all but the RUNTIME_FIELDS."""

    job_id: str
    name: str
    folder: Path
    state: FilmState = FilmState.READY
    owner: int = 0
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    width: int = 0
    height: int = 0
    frame_rate: str = ""
    duration: float | None = None
    frames_total: int | None = None
    sound: bool = False
    stills: list = field(default_factory=list)
    still_seconds: float | None = None
    """One frame's colour work (prepare, network, compose at the film's size), measured on the first still."""
    estimate_seconds: float | None = None
    settings: dict = field(default_factory=dict)
    frames_done: int = 0
    run_seconds: float | None = None
    error: str | None = None
    problems: list = field(default_factory=list)
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)
    progress: FrameProgress | None = None
    deleted: bool = False

    @property
    def source(self) -> Path:
        return self.folder / SOURCE_NAME

    @property
    def output(self) -> Path:
        return self.folder / OUTPUT_NAME

    def describe(self, info: VideoInfo, stills: int) -> None:
        self.width, self.height, self.duration = info.width, info.height, info.duration
        self.frame_rate = f"{info.rate.numerator}/{info.rate.denominator}"
        self.frames_total = None if info.duration is None else max(1, round(info.duration * info.rate))
        self.sound = info.has_audio
        self.stills = still_times(info.duration, stills)

    def render_settings(self) -> RenderSettings:
        return RenderSettings(**self.settings)

    def set_state(self, state: FilmState, error: str | None = None) -> None:
        self.state, self.error, self.updated = state, error, time.time()

    def record(self) -> dict:
        return {item.name: getattr(self, item.name) for item in fields(self) if item.name not in RUNTIME_FIELDS}

    def save(self) -> None:
        write_bytes_atomically(self.folder / RECORD_NAME, json.dumps(self.record(), indent=1).encode())

    @classmethod
    def load(cls, folder: Path) -> FilmJob:
        """The job a job.json describes; ValueError when it is not one this server wrote."""
        try:
            data = json.loads((folder / RECORD_NAME).read_text(encoding="utf-8"))
            job = cls(folder=folder, **{key: value for key, value in data.items() if key not in RUNTIME_FIELDS})
        except (OSError, TypeError, ValueError) as error:
            raise ValueError(f"{folder / RECORD_NAME} cannot be read ({error})") from None
        if job.job_id != folder.name or job.state not in {state.value for state in FilmState}:
            raise ValueError(f"{folder / RECORD_NAME} is not a film job of this server")
        job.state = FilmState(job.state)
        return job


class JobColorizer:
    """The server's Colorizer as colorize_video sees it, with one job's settings. The loaded net has the server's
    temperature built in; another is decoded from the net's scores, as the page's photos are (Renderer)."""

    def __init__(self, renderer: Renderer, settings: RenderSettings):
        self.colorizer = renderer.colorizer
        scale = renderer.scale(settings)
        self.scale = None if scale == self.colorizer.scale else scale
        self.colour = renderer.colour(settings)

    def prepare(self, image):
        return self.colorizer.prepare(image)

    def predict_ab(self, batch: list) -> list:
        if self.scale is None:
            return self.colorizer.predict_ab(batch)
        return [
            annealed_mean(scores, self.colorizer.points, self.scale) for scores in self.colorizer.predict_scores(batch)
        ]

    def compose(self, prepared, ab):
        return self.colorizer.compose(prepared, ab, self.colour)


def remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def public_message(text: str, job: FilmJob) -> str:
    """A message with the server's paths replaced by what the client knows: its film's name."""
    for path, label in ((job.source, job.name), (job.output, f"{job.name} colorized"), (job.folder, "the work folder")):
        for shown in sorted({str(path), display_path(path)}, key=len, reverse=True):
            text = text.replace(shown, label)
    return text
