"""Colorizing a whole folder tree: which files, where each output goes, and keeping the network busy.

Reading and colour work run in threads beside the network (colorization.stream), so memory stays a few pictures
deep however large the archive. The network is loaded once, and only when there is work. Every output is written
under a temporary name and renamed, and a file whose output exists is skipped, so a run killed at any moment is
finished by running the same command again.
"""
from __future__ import annotations

import csv
import fnmatch
import hashlib
import io
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Callable, Protocol

import cv2

from .atomic import remove_abandoned_temporaries, write_bytes_atomically
from .errors import ColorizationError, Terminated, UsageError
from .hints import SIDECAR_SUFFIX, HintError, Hint, check_fits, read_hints
from .hint_spreading import apply_hints
from .image_files import ImageResult
from .image_io import DEFAULT_MAX_PIXELS, READ_EXTENSIONS, Metadata, read_picture, writable_extension, write_image
from .memory import return_freed_memory
from .outputs import check_suffix, create_parent
from .paths import display_path, is_inside, is_special
from .pipeline import Colorizer, ColourSettings, PreparedImage, prepare_for
from .progress import progress_bar
from .stream import run_stages

log = logging.getLogger(__name__)

EXTENSION_FAMILIES = ((".jpg", ".jpeg", ".jpe"), (".tif", ".tiff"))
"""Asking for one spelling of a type means all of them: --ext jpg also takes photo.JPEG."""
REPORT_FORMATS = (".csv", ".json")
REPORT_COLUMNS = ("input", "output", "status", "reason", "width", "height", "output_bytes", "seconds")
ALREADY_DONE = "output exists (--overwrite to redo)"
HIDDEN_FILE, HIDDEN_FOLDER = "hidden file", "hidden folder"
NOT_A_PICTURE = "not a picture type this tool reads"
OUTPUT_FOLDER = "a link to the output folder: outputs are never read as inputs"
ORPHAN_HINTS = "colour hints for a picture that is not here (PHOTO.hints.json goes beside PHOTO.jpg)"
SPECIAL_FILE = "not a regular file (a pipe, device or socket): reading it could wait forever; pass it with colorize.py -i"
SKIP_LABELS = {
    ALREADY_DONE: "already done", HIDDEN_FILE: "hidden", HIDDEN_FOLDER: "hidden", NOT_A_PICTURE: "not pictures",
    OUTPUT_FOLDER: "output folder", ORPHAN_HINTS: "not pictures", SPECIAL_FILE: "special files",
}
"""Why a file is skipped (the report's reason) and how the summary line counts it."""


def default_workers() -> int:
    """One reading and one writing thread, two from 4 cores: the network already keeps every core busy, and each
    writing thread holds a picture's full-size colour while it works."""
    return 2 if (os.cpu_count() or 1) >= 4 else 1


@dataclass
class BatchSettings:
    """What to colorize and how; the script fills it from its options."""

    input_root: Path
    output_root: Path
    recursive: bool = True
    patterns: tuple[str, ...] = ()
    extensions: tuple[str, ...] = READ_EXTENSIONS
    output_extension: str | None = None
    suffix: str = ""
    overwrite: bool = False
    shard: tuple[int, int] = (1, 1)
    report: Path | None = None
    workers: int = field(default_factory=default_workers)
    batch_size: int = 1
    max_pixels: int = DEFAULT_MAX_PIXELS


@dataclass
class BatchRecord(ImageResult):
    """One line of the report."""

    width: int | None = None
    height: int | None = None
    output_bytes: int | None = None

    def row(self) -> dict:
        return {
            "input": str(self.source),
            "output": "" if self.destination is None else str(self.destination),
            "status": self.status,
            "reason": self.reason,
            "width": self.width,
            "height": self.height,
            "output_bytes": self.output_bytes,
            "seconds": round(self.seconds, 3),
        }


@dataclass
class Listing:
    """The files under the input folder, sorted, by what happens to them."""

    images: list[PurePosixPath] = field(default_factory=list)
    ignored: list[tuple[PurePosixPath, str]] = field(default_factory=list)
    sidecars: set[PurePosixPath] = field(default_factory=set)
    """PHOTO.hints.json files beside a picture: part of that picture's job, never inputs themselves."""
    unlisted: list[tuple[Path, str]] = field(default_factory=list)
    filtered: int = 0


def check_folders(settings: BatchSettings) -> None:
    """Refuse folders that would mix outputs with inputs, before any work."""
    check_suffix(settings.suffix)
    source, target = settings.input_root, settings.output_root
    if not source.exists():
        raise UsageError(f"{display_path(source)}: no such folder")
    if not source.is_dir():
        raise UsageError(f"{display_path(source)} is a file, not a folder: use colorize.py -i for single pictures")
    if target.exists() and not target.is_dir():
        raise UsageError(f"{display_path(target)} is a file: the output must be a folder")
    real_source, real_target = Path(os.path.realpath(source)), Path(os.path.realpath(target))
    if real_source == real_target:
        raise UsageError(
            f"the output folder {display_path(target)} is the input folder: choose another one, "
            "so outputs never overwrite or mix with the pictures they come from"
        )
    if settings.recursive and (real_source in real_target.parents or real_target in real_source.parents):
        inner, outer = (target, source) if real_source in real_target.parents else (source, target)
        raise UsageError(
            f"{display_path(inner)} is inside {display_path(outer)}: a recursive run would read outputs as inputs; "
            "choose an output folder outside the input folder (or pass --no-recursive)"
        )


def matches(relative: PurePosixPath, patterns: tuple[str, ...]) -> bool:
    """A glob pattern matches the file name or its path below the input folder; no pattern takes everything."""
    return not patterns or any(fnmatch.fnmatch(relative.name, p) or fnmatch.fnmatch(str(relative), p) for p in patterns)


def list_folder(
    root: Path, recursive: bool = True, extensions: tuple[str, ...] = READ_EXTENSIONS, patterns: tuple[str, ...] = (),
    output_root: Path | None = None,
) -> Listing:
    """The pictures below `root`, walked in a fixed order (following links, never twice into the same folder);
    hidden files and folders are left out and listed as such, and so is any folder that is (through a link) the
    output folder or inside it, so outputs are never fed back as inputs."""
    listing = Listing()
    visited: set[str] = set()
    real_output = os.path.realpath(output_root) if output_root is not None else None

    def unlisted(error: OSError) -> None:
        listing.unlisted.append((Path(error.filename), error.strerror or str(error)))

    for folder, subfolders, names in os.walk(root, onerror=unlisted, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:
            subfolders[:] = []
            continue
        visited.add(real)
        relative_folder = PurePosixPath(Path(folder).relative_to(root).as_posix())
        if real_output is not None and (real == real_output or is_inside(real, real_output)):
            listing.ignored.append((relative_folder, OUTPUT_FOLDER))
            subfolders[:] = []
            continue
        if recursive:
            listing.ignored.extend((relative_folder / name, HIDDEN_FOLDER) for name in sorted(subfolders) if name.startswith("."))
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        else:
            subfolders[:] = []
        stems = {os.path.splitext(name)[0] for name in names if os.path.splitext(name)[1].lower() in READ_EXTENSIONS}
        for name in sorted(names):
            relative = relative_folder / name
            extension = relative.suffix.lower()
            if name.startswith("."):
                listing.ignored.append((relative, HIDDEN_FILE))
            elif (extension in READ_EXTENSIONS or name.endswith(SIDECAR_SUFFIX)) and is_special(Path(folder) / name):
                listing.ignored.append((relative, SPECIAL_FILE))
            elif name.endswith(SIDECAR_SUFFIX) and name[: -len(SIDECAR_SUFFIX)] in stems:
                listing.sidecars.add(relative)
            elif name.endswith(SIDECAR_SUFFIX):
                listing.ignored.append((relative, ORPHAN_HINTS))
            elif extension not in READ_EXTENSIONS:
                listing.ignored.append((relative, NOT_A_PICTURE))
            elif extension in extensions and matches(relative, patterns):
                listing.images.append(relative)
            else:
                listing.filtered += 1
    return listing


def in_shard(relative: PurePosixPath, shard: tuple[int, int]) -> bool:
    """A file's slice depends on its path alone, so runs that list the folder at different times still agree."""
    index, count = shard
    digest = hashlib.sha256(str(relative).encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def output_path(settings: BatchSettings, relative: PurePosixPath) -> Path:
    """The same place below the output folder; the input's extension unless one is forced or it cannot be written."""
    extension = writable_extension(settings.output_extension or relative.suffix)
    return settings.output_root.joinpath(*relative.parent.parts, f"{relative.stem}{settings.suffix}{extension}")


@dataclass
class Job:
    source: Path
    destination: Path
    hints: tuple[Hint, ...] = ()


@dataclass
class Plan:
    """This run's share of the folder: pictures to colorize, and lines already settled (skipped, failed)."""

    jobs: list[Job] = field(default_factory=list)
    settled: list[BatchRecord] = field(default_factory=list)
    filtered: int = 0



def plan_batch(settings: BatchSettings) -> Plan:
    """Pair each picture of this shard with its output; settle what needs no work; clean up after killed runs."""
    check_folders(settings)
    listing = list_folder(settings.input_root, settings.recursive, settings.extensions, settings.patterns, settings.output_root)
    plan = Plan(filtered=listing.filtered)
    for folder, reason in listing.unlisted:
        plan.settled.append(BatchRecord(folder, None, "failed", f"{display_path(folder)}: cannot list this folder ({reason})"))
    for relative, reason in listing.ignored:
        if in_shard(relative, settings.shard):
            plan.settled.append(BatchRecord(settings.input_root / relative, None, "skipped", reason))
    claimed: dict[Path, Path] = {}
    real_inputs: set[str] = set()
    real_output = os.path.realpath(settings.output_root)
    for relative in listing.images:
        if not in_shard(relative, settings.shard):
            continue
        source, destination = settings.input_root / relative, output_path(settings, relative)
        exists = destination.exists()
        if exists and not real_inputs:  # only an existing file can be an input (through a link): look only then
            real_inputs = {os.path.realpath(settings.input_root / image) for image in listing.images}
        if destination in claimed:
            hint = ": rename one, or keep each input's type with --output-ext auto" if settings.output_extension else ": rename one"
            plan.settled.append(BatchRecord(source, destination, "failed", (
                f"{display_path(source)}: its output {display_path(destination)} is also {display_path(claimed[destination])}'s{hint}"
            )))
        elif exists and os.path.realpath(destination) in real_inputs:
            plan.settled.append(BatchRecord(source, destination, "failed", f"{display_path(destination)} is an input: not overwriting it"))
        elif not is_inside(destination, real_output):
            plan.settled.append(BatchRecord(source, destination, "failed", (
                f"{display_path(source)}: its output {display_path(destination)} leads out of {display_path(settings.output_root)} "
                "through a link: outputs are only written inside the output folder"
            )))
        elif exists and not settings.overwrite:
            claimed[destination] = source
            plan.settled.append(BatchRecord(source, destination, "skipped", ALREADY_DONE, output_bytes=destination.stat().st_size))
        else:
            claimed[destination] = source
            plan.jobs.append(Job(source, destination))
    for folder in {destination.parent for destination in claimed}:
        for temporary in remove_abandoned_temporaries(folder, claimed):
            log.info("removed %s, left by a run that was stopped mid-write", display_path(temporary))
    attach_hints(plan.jobs, listing.sidecars, settings.input_root)
    return plan


def attach_hints(jobs: list[Job], sidecars: set[PurePosixPath], root: Path) -> None:
    """Give each job its PHOTO.hints.json, read and checked against the picture's size before any model loads: a
    bad one is a usage error naming the file, as --hints is for colorize.py, since nothing has been done yet."""
    problems = []
    for job in jobs:
        relative = PurePosixPath(job.source.relative_to(root).as_posix())
        sidecar = relative.with_name(relative.stem + SIDECAR_SUFFIX)
        if sidecar in sidecars:
            try:
                job.hints = tuple(read_hints(root / sidecar))
                check_fits(job.hints, job.source)
                log.info("%s: %d colour hints from %s", display_path(job.source), len(job.hints), sidecar.name)
            except HintError as error:
                problems.append(str(error))
    for problem in problems[:-1]:
        log.error("error: %s", problem)
    if problems:
        more = f" (and {len(problems) - 1} more hints files above)" if len(problems) > 1 else ""
        raise HintError(problems[-1] + more)


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
    def of(cls, colorizer: Colorizer, max_pixels: int = DEFAULT_MAX_PIXELS) -> "PictureWork":
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


def compose_and_write(item: InFlight, ab, work: PictureWork) -> BatchRecord:
    """Put the network's colour on the picture and write it (atomically, with the input's metadata)."""
    job = item.job
    colour = work.colour.compose(item.prepared, apply_hints(ab, job.hints, item.prepared.lightness))
    create_parent(job.destination)
    write_image(job.destination, colour, item.metadata)
    del colour
    return_freed_memory(collect=False)
    return BatchRecord(
        job.source, job.destination, "done", seconds=time.perf_counter() - item.started,
        width=item.width, height=item.height, output_bytes=job.destination.stat().st_size,
    )


def failed_record(job: Job, started: float, error: BaseException) -> BatchRecord:
    log.debug("%s failed", job.source, exc_info=error)
    return BatchRecord(job.source, job.destination, "failed", failure_reason(job.source, error), time.perf_counter() - started)


class Recorder:
    """Collects report lines from every thread, reports failures on one line each, and moves the progress bar."""

    def __init__(self, bar=None):
        self.records: list[BatchRecord] = []
        self.lock = threading.Lock()
        self.bar = bar

    def add(self, record: BatchRecord) -> None:
        with self.lock:
            self.records.append(record)
            if self.bar is not None:
                self.bar.update(1)
        if record.status == "failed":
            log.error("error: %s", record.reason)
        else:
            log.info("%s -> %s (%.2f s)", display_path(record.source), display_path(record.destination), record.seconds)

    def fail(self, job: Job, started: float, error: BaseException) -> None:
        self.add(failed_record(job, started, error))


def colorize_jobs(
    colorizer: Colorizer, jobs: list[Job], recorder: Recorder, workers: int = 1, batch_size: int = 1,
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

    def predict(batch: list[InFlight]) -> list:
        try:
            return colorizer.predict_ab([item.prepared for item in batch])
        except Exception as error:  # e.g. out of GPU memory: these files fail, the rest go on
            for item in batch:
                recorder.fail(item.job, item.started, error)
            return []

    def write(item: InFlight, ab) -> None:
        try:
            recorder.add(compose_and_write(item, ab, work))
        except Exception as error:  # one bad file must not stop the archive
            recorder.fail(item.job, item.started, error)

    # One picture per stage at most (each reader, the network's batch, each writer): as many as keep the slowest
    # stage busy, and no more waiting in the queues, since a 12-megapixel picture is some 50 MB prepared.
    run_stages(jobs, read, predict, write, workers=workers, batch_size=batch_size, in_flight=2 * workers + batch_size)


class FolderRun(Protocol):
    """The middle of a folder's run, between the plan and the summary: this machine's threads, or a Ray cluster."""

    backend: str
    """Where the network runs, for the summary line and the report."""

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None: ...


@dataclass
class ThreadedRun:
    """One network in this process, with threads reading and writing beside it."""

    colorizer: Colorizer
    settings: BatchSettings

    @property
    def backend(self) -> str:
        return self.colorizer.device

    def colorize(self, jobs: list[Job], recorder: Recorder) -> None:
        settings = self.settings
        colorize_jobs(self.colorizer, jobs, recorder, settings.workers, settings.batch_size, settings.max_pixels)


def nothing_found(records: list[BatchRecord]) -> bool:
    """No picture matched: every line is a file or folder left out, none is work to do, done, kept or failed."""
    return not any(record.status != "skipped" or record.reason == ALREADY_DONE for record in records)


@dataclass
class BatchSummary:
    records: list[BatchRecord]
    seconds: float
    backend: str
    shard: tuple[int, int]
    filtered: int = 0
    terminated: bool = False
    report_error: str = ""
    """Why the report could not be written (a full disk...): the summary line is still printed, with this after it."""

    @property
    def found_nothing(self) -> bool:
        return nothing_found(self.records)

    def count(self, status: str, reason: str | None = None) -> int:
        return sum(r.status == status and (reason is None or r.reason == reason) for r in self.records)

    @property
    def images_per_second(self) -> float:
        return self.count("done") / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        labels = [SKIP_LABELS[record.reason] for record in self.records if record.status == "skipped"]
        counts = [f"{labels.count(label)} {label}" for label in dict.fromkeys(SKIP_LABELS.values()) if label in labels]
        details = f" ({', '.join(counts)})" if counts else ""
        text = (
            f"{self.count('done')} done, {self.count('skipped')} skipped{details}, {self.count('failed')} failed "
            f"in {self.seconds:.1f} s ({self.images_per_second:.2f} images/s, backend: {self.backend})"
        )
        if self.count("interrupted"):
            text += f", {self.count('interrupted')} not reached (interrupted: run the same command again to finish)"
        if self.shard != (1, 1):
            text += f"; shard {self.shard[0]}/{self.shard[1]}"
        return text

    def as_json(self, settings: BatchSettings) -> dict:
        return {
            "input": str(settings.input_root),
            "output": str(settings.output_root),
            "shard": f"{self.shard[0]}/{self.shard[1]}",
            "backend": self.backend,
            "seconds": round(self.seconds, 3),
            "images_per_second": round(self.images_per_second, 3),
            "counts": {status: self.count(status) for status in ("done", "skipped", "failed", "interrupted")},
            "not_matching_filters": self.filtered,
            "files": [record.row() for record in self.records],
        }


def check_report_path(report: Path | None, input_root: Path) -> None:
    """Before any work: a report that cannot be written should not be discovered after hours of colorizing, and a
    report never lands among the inputs (which are never written)."""
    if report is None:
        return
    if report.suffix.lower() not in REPORT_FORMATS:
        raise UsageError(f"--report {display_path(report)}: name a .csv or .json file")
    if os.path.realpath(report) == os.path.realpath(input_root) or is_inside(report, os.path.realpath(input_root)):
        raise UsageError(f"--report {display_path(report)} is inside the input folder, which is never written: put it elsewhere")
    try:
        report.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--report {display_path(report)}: cannot create its folder ({error.strerror or error})") from None


def write_report(path: Path, summary: BatchSummary, settings: BatchSettings) -> None:
    if path.suffix.lower() == ".json":
        data = json.dumps(summary.as_json(settings), indent=2, ensure_ascii=False).encode("utf-8")
    else:
        text = io.StringIO(newline="")
        writer = csv.DictWriter(text, fieldnames=REPORT_COLUMNS)
        writer.writeheader()
        writer.writerows(record.row() for record in summary.records)
        data = text.getvalue().encode("utf-8")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes_atomically(path, data)
    except OSError as error:
        raise ColorizationError(f"--report {display_path(path)}: cannot write ({error.strerror or error})") from None


def colorize_folder(settings: BatchSettings, load_colorizer: Callable[[], Colorizer], quiet: bool = False) -> BatchSummary:
    """Plan, load the network only if there is work, colorize in threads beside it, and write the report."""
    return run_folder(settings, lambda: ThreadedRun(load_colorizer(), settings), quiet)


def run_folder(settings: BatchSettings, start: Callable[[], FolderRun], quiet: bool = False) -> BatchSummary:
    """Plan, `start` the run only if there is work, colorize, and write the report; Ctrl-C ends the run early
    with the files not reached marked `interrupted`. The plan, the summary and the report are the same whatever
    runs the middle."""
    check_report_path(settings.report, settings.input_root)
    plan = plan_batch(settings)
    try:
        settings.output_root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{display_path(settings.output_root)}: cannot create the output folder ({error.strerror or error})") from None
    for record in plan.settled:
        if record.status == "failed":
            log.error("error: %s", record.reason)
        elif record.reason == SPECIAL_FILE:
            log.warning("skipped %s: %s", display_path(record.source), record.reason)
    if not plan.jobs and nothing_found(plan.settled):
        log.error("error: no pictures in %s%s", display_path(settings.input_root), " matching the filters" if plan.filtered else "")
    run = start() if plan.jobs else None
    started = time.perf_counter()
    terminated = False
    with progress_bar(len(plan.jobs), "image", "colorizing", quiet) as bar:
        recorder = Recorder(bar)
        try:
            if run is not None:
                run.colorize(plan.jobs, recorder)
        except KeyboardInterrupt as interruption:
            terminated = isinstance(interruption, Terminated)
            log.warning("%s: writing what was done; run the same command again to finish", "terminated" if terminated else "interrupted")
    finished = {record.source for record in recorder.records}
    not_reached = [BatchRecord(job.source, job.destination, "interrupted", "the run was stopped first") for job in plan.jobs if job.source not in finished]
    summary = BatchSummary(
        sorted(plan.settled + recorder.records + not_reached, key=lambda record: str(record.source)),
        time.perf_counter() - started,
        run.backend if run is not None else "not loaded, nothing to colorize",
        settings.shard,
        plan.filtered,
        terminated,
    )
    if settings.report is not None:
        try:
            write_report(settings.report, summary, settings)
        except ColorizationError as error:
            summary.report_error = str(error)
    return summary
