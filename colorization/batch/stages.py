"""What happens to each picture of a folder: read and prepared, through the network, composed and written; and
the record of how it went, whichever stage it failed in (a bad file is a report line, never the end of the run)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import ColorizationError
from ..hint_spreading import apply_hints
from ..image_io import DEFAULT_MAX_PIXELS, Metadata, read_picture, write_image
from ..memory import return_freed_memory
from ..outputs import create_parent
from ..paths import display_path
from ..pipeline import Colorizer, ColourSettings
from ..preparation import PreparedImage, prepare_for
from ..status import Status
from ..stream import run_stages
from .planning import Job
from .report import BatchRecord

log = logging.getLogger(__name__)


def failure_reason(source: Path, error: BaseException) -> str:
    """One line naming the file, whatever went wrong with it."""
    if isinstance(error, cv2.error):
        message = "OpenCV: " + (str(error).strip().splitlines() or ["unknown error"])[-1]
    elif isinstance(error, MemoryError):
        message = "not enough memory for this picture"
    elif isinstance(error, OSError):
        message = error.strerror or str(error)
    elif isinstance(error, ColorizationError):
        message = str(error)
    else:
        message = f"unexpected {type(error).__name__}: {error}"
    shown = display_path(source)
    return message if message.startswith(shown) else f"{shown}: {message}"


@dataclass(frozen=True)
class PictureWork:
    """What is done to each picture around the network, which needs no network: the same for the threads of one
    machine and for the CPU tasks of a Ray cluster, so both give the same files."""

    size: int
    colour: ColourSettings
    max_pixels: int = DEFAULT_MAX_PIXELS

    @classmethod
    def of(cls, colorizer: Colorizer, max_pixels: int = DEFAULT_MAX_PIXELS) -> PictureWork:
        return cls(colorizer.size, colorizer.colour, max_pixels)


@dataclass
class InFlight:
    """A picture between the stages: what the network needs and what goes into its report line."""

    job: Job
    started: float
    prepared: PreparedImage
    width: int
    height: int
    metadata: Metadata


def read_and_prepare(job: Job, work: PictureWork, started: float) -> InFlight:
    """Read a picture (refusing one over the pixel limit from its header) and prepare it for the network."""
    picture = read_picture(job.source, work.max_pixels)
    image = picture.image
    prepared = prepare_for(image, work.size, work.colour.conversion)
    return InFlight(job, started, prepared, image.shape[1], image.shape[0], picture.metadata)


def compose_and_write(item: InFlight, ab: np.ndarray, work: PictureWork) -> BatchRecord:
    """Put the network's colour on the picture and write it (atomically, with the input's metadata)."""
    job = item.job
    colour = work.colour.compose(item.prepared, apply_hints(ab, job.hints, item.prepared.lightness))
    create_parent(job.destination)
    write_image(job.destination, colour, item.metadata)
    del colour
    return_freed_memory(collect=False)
    return BatchRecord(
        job.source,
        job.destination,
        Status.DONE,
        seconds=time.perf_counter() - item.started,
        width=item.width,
        height=item.height,
        output_bytes=job.destination.stat().st_size,
    )


def failed_record(job: Job, started: float, error: BaseException) -> BatchRecord:
    log.debug("%s failed", job.source, exc_info=error)
    return BatchRecord(
        job.source, job.destination, Status.FAILED, failure_reason(job.source, error), time.perf_counter() - started
    )


class Recorder:
    """Collects report lines from every thread, reports failures on one line each, and moves the progress bar."""

    def __init__(self, bar: Any = None) -> None:
        """`bar`: a progress bar (tqdm's update()) moved once per line, or None."""
        self.records: list[BatchRecord] = []
        self.lock = threading.Lock()
        self.bar = bar

    def add(self, record: BatchRecord) -> None:
        with self.lock:
            self.records.append(record)
            if self.bar is not None:
                self.bar.update(1)
        if record.status == Status.FAILED:
            log.error("error: %s", record.reason)
        else:
            log.info("%s -> %s (%.2f s)", display_path(record.source), display_path(record.destination), record.seconds)

    def fail(self, job: Job, started: float, error: BaseException) -> None:
        self.add(failed_record(job, started, error))


def colorize_jobs(
    colorizer: Colorizer,
    jobs: list[Job],
    recorder: Recorder,
    workers: int = 1,
    batch_size: int = 1,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> None:
    """The three stages of colorization.stream over the jobs; a picture that fails is reported and the rest go on."""
    work = PictureWork.of(colorizer, max_pixels)

    def read(job: Job) -> InFlight | None:
        started = time.perf_counter()
        try:
            return read_and_prepare(job, work, started)
        except Exception as error:  # one bad file must not stop the archive
            recorder.fail(job, started, error)
            return None

    def predict(batch: list[InFlight]) -> list[np.ndarray | None]:
        try:
            return list(colorizer.predict_ab([item.prepared for item in batch]))
        except Exception as error:  # e.g. out of GPU memory: these files fail, the rest go on
            for item in batch:
                recorder.fail(item.job, item.started, error)
            return [None] * len(batch)

    def write(item: InFlight, ab: np.ndarray) -> None:
        try:
            recorder.add(compose_and_write(item, ab, work))
        except Exception as error:  # one bad file must not stop the archive
            recorder.fail(item.job, item.started, error)

    # One picture per stage at most (each reader, the network's batch, each writer): as many as keep the slowest
    # stage busy, and no more waiting in the queues, since a 12-megapixel picture is some 50 MB prepared.
    run_stages(jobs, read, predict, write, workers=workers, batch_size=batch_size, in_flight=2 * workers + batch_size)
