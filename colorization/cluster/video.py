"""Films on a Ray cluster: a film is cut at keyframes into segments, model actors colorize the segments in parallel
(each encodes its piece with the one-machine run's encoder settings, without sound), and the pieces are joined as
they are (no re-encoding) with the sound copied once from the original.

Frame-exact: every segment seeks to a keyframe (the exact time ffmpeg reports for it) and takes a counted number of
frames, so the pieces hold exactly the frames of a one-machine run. Seamless: a segment first decodes the last
frames of the one before it and runs them through the network and the temporal smoother without writing them, so
the smoother's state at the join is what an unbroken run has there.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from ..atomic import atomic_output, writer_gone
from ..errors import ImageError, OutputError, VideoError
from ..paths import display_path
from ..progress import progress_bar
from ..settings import ColorizerSettings
from ..temporal import FlickerMeter, TemporalSmoother
from ..video.colorize import VideoResult, colorize_each, colorize_span, prepare_destination, resolve_span
from ..video.encoding import AudioPlan, VideoOptions, join_arguments
from ..video.ffmpeg import FfmpegProcess, VideoInfo, ffmpeg_reason, format_time, keyframe_times, probe
from ..video.io import VideoReader, VideoWriter, plan_audio
from .pool import WorkerLost, WorkerPool
from .runtime import WorkerPlan, connected, plan_workers, ship_model
from .segments import MIN_SEGMENT_SECONDS, SEGMENTS_PER_WORKER, Segment, plan_segments

log = logging.getLogger(__name__)

MAX_TRIES = 3
"""Attempts per segment when model workers are lost; a segment that fails on its own (a damaged file) fails at once."""
SEGMENTS_FOLDER = ".{name}.segments-{pid}"
SEGMENTS_FOLDER_PATTERN = re.compile(r"\.(?P<name>.+)\.segments-(?P<pid>\d+)")
SILENT = AudioPlan("none in a piece: the sound is copied once when the pieces are joined")


@dataclass
class SegmentJob:
    """What a model worker needs for one segment: the film, its span, the encoder options, where the piece goes."""

    info: VideoInfo
    segment: Segment
    options: VideoOptions
    start: float
    duration: float | None
    piece: Path
    tries: int = 0

    def decoder_span(self) -> tuple[float, float | None]:
        """(start, duration) of this segment's decoder: the span's own, or from the keyframe to the span's end."""
        segment = self.segment
        if segment.seek is None:
            return self.start, self.duration
        return float(segment.seek), None if segment.duration is None else float(segment.duration)


@dataclass
class SegmentOutcome:
    index: int
    frames: int = 0
    problems: list[str] = field(default_factory=list)
    independent: FlickerMeter = field(default_factory=FlickerMeter)
    output: FlickerMeter = field(default_factory=FlickerMeter)
    scene_cuts: int = 0
    error: str | None = None


def colorize_segment(colorizer, job: SegmentJob) -> SegmentOutcome:
    """One segment into its piece (written under a temporary name, renamed when complete); errors are returned,
    so that the driver tells a damaged film from a lost worker."""
    segment = job.segment
    outcome = SegmentOutcome(segment.index)
    start, duration = job.decoder_span()
    try:
        with (
            atomic_output(job.piece) as temporary,
            VideoReader(job.info, start, duration, frames=segment.decoded, shift=float(segment.shift)) as reader,
            VideoWriter(job.info, temporary, job.piece, job.options, SILENT, start, duration) as writer,
        ):
            span = colorize_span(
                colorizer,
                job.info.path,
                islice(reader.frames(), segment.skip, None),
                writer,
                TemporalSmoother(job.options.smoothing),
                warm_up=segment.warm_up,
            )
            outcome.frames = writer.written
            outcome.problems = reader.problems(writer.written, None)
            if segment.frames is not None and writer.written != segment.frames:
                raise VideoError(
                    f"{display_path(job.info.path)}: the segment from frame {segment.first} gave {writer.written} "
                    f"of its {segment.frames} frames"
                )
    except (VideoError, OutputError, ImageError) as error:
        outcome.error = str(error)
        return outcome
    outcome.independent, outcome.output, outcome.scene_cuts = span.independent, span.output, span.scene_cuts
    outcome.independent.previous = outcome.output.previous = None  # only the totals travel back
    return outcome


def colorize_segments(pool: WorkerPool, jobs: list[SegmentJob], finished) -> list[SegmentOutcome]:
    """Every job's outcome, in order, from the pool's workers; `finished(outcome)` is called as each arrives. A job
    whose worker was lost is done again by another, up to MAX_TRIES."""
    waiting, outcomes = deque(jobs), {}
    running: dict[Any, SegmentJob] = {}
    """The reference of each segment's call -> its job."""
    while waiting or running:
        while waiting and pool.idle:
            job = waiting.popleft()
            running[pool.submit(colorize_segment, job)] = job
        if not running:
            pool.check_alive()
        done, _ = pool.ray.wait(pool.waiting_on, num_returns=1)
        for reference in pool.settle(done):
            job = running.pop(reference)
            try:
                outcome = pool.result(reference)
            except WorkerLost as error:
                job.tries += 1
                if job.tries >= MAX_TRIES:
                    raise VideoError(
                        f"{display_path(job.info.path)}: model workers were lost {job.tries} times on one segment "
                        f"({error}): is the cluster healthy?"
                    ) from None
                log.warning(
                    "warning: a model worker was lost on segment %d of %s; it is done again by another",
                    job.segment.index + 1,
                    display_path(job.info.path),
                )
                waiting.appendleft(job)
                continue
            outcomes[outcome.index] = outcome
            finished(outcome)
    return [outcomes[job.segment.index] for job in jobs]


def segments_folder(destination: Path) -> Path:
    """A hidden folder beside the output for its pieces (every node sees it), after removing those left by killed
    runs."""
    for entry in destination.parent.iterdir():
        found = SEGMENTS_FOLDER_PATTERN.fullmatch(entry.name)
        if found and found["name"] == destination.name and entry.is_dir() and writer_gone(int(found["pid"])):
            shutil.rmtree(entry, ignore_errors=True)
            log.info("removed %s, left by a run that was stopped", display_path(entry))
    folder = destination.parent / SEGMENTS_FOLDER.format(name=destination.name, pid=os.getpid())
    folder.mkdir(exist_ok=True)
    return folder


def concat_line(path: Path) -> str:
    """One line of an ffmpeg concat list: the path in single quotes, a quote in it written '\\''."""
    return "file '" + str(path.resolve()).replace("'", "'\\''") + "'\n"


def join_pieces(
    info: VideoInfo,
    pieces: list[Path],
    folder: Path,
    destination: Path,
    audio: AudioPlan,
    start: float,
    duration: float | None,
) -> None:
    listing = folder / "segments.txt"
    listing.write_text("".join(concat_line(piece) for piece in pieces), encoding="utf-8")
    with atomic_output(destination) as temporary:
        joining = FfmpegProcess(join_arguments(info, listing, temporary, audio, start, duration))
        if joining.wait() != 0:
            reason = ffmpeg_reason(joining.first_error) or "no message"
            raise VideoError(f"could not join the segments into {display_path(destination)}: ffmpeg says: {reason}")


def colorize_video_on_ray(
    pool: WorkerPool, source: Path, destination: Path, options: VideoOptions, quiet: bool = False
) -> VideoResult:
    """One film, its segments spread over the pool, into `destination`, which appears only once joined."""
    started = time.perf_counter()
    info = probe(source)
    shown = display_path(source)
    log.info("%s: %s", shown, info.summary())
    start, duration, expected = resolve_span(info, options.start, options.end)
    audio = plan_audio(info, destination, options.audio)
    segments = plan_segments(
        info,
        start,
        duration,
        expected,
        keyframe_times(source),
        pool.plan.workers * SEGMENTS_PER_WORKER,
        options.smoothing,
        MIN_SEGMENT_SECONDS,
    )
    if info.variable_rate:
        log.info(
            "%s has a variable frame rate: colorized in one piece, at a constant %.3f fps", shown, float(info.rate)
        )
    log.info(
        "%s: %d segment(s), cut at %s",
        shown,
        len(segments),
        ", ".join(format_time(segment.first / info.rate + start) for segment in segments),
    )
    result = VideoResult(source, destination, audio=audio.description)
    prepare_destination(destination)
    folder = segments_folder(destination)
    try:
        jobs = [
            SegmentJob(
                info, segment, options, start, duration, folder / f"segment-{segment.index:04d}{destination.suffix}"
            )
            for segment in segments
        ]
        with progress_bar(expected, "frame", shown, quiet) as progress:
            outcomes = colorize_segments(pool, jobs, lambda outcome: progress.update(outcome.frames))
        failed = next((outcome.error for outcome in outcomes if outcome.error), None)
        if failed:
            raise VideoError(failed)
        join_pieces(info, [job.piece for job in jobs], folder, destination, audio, start, duration)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    independent, output = FlickerMeter(), FlickerMeter()
    for outcome in outcomes:
        result.frames += outcome.frames
        result.scene_cuts += outcome.scene_cuts
        result.problems += [problem for problem in outcome.problems if problem not in result.problems]
        for total, part in ((independent, outcome.independent), (output, outcome.output)):
            total.total += part.total
            total.pairs += part.pairs
    result.flicker_independent, result.flicker_output = independent.value, output.value
    result.seconds = time.perf_counter() - started
    return result


def colorize_videos_on_ray(
    address: str,
    workers: int | None,
    gpus_per_worker: float | None,
    settings: ColorizerSettings,
    pairs,
    options: VideoOptions,
    quiet: bool = False,
) -> tuple[list[VideoResult], WorkerPlan]:
    """Every (film, output) pair on the cluster at `address`, one after the other, each spread over all workers."""
    with connected(address) as ray:
        plan = plan_workers(ray, workers, gpus_per_worker)
        pool = WorkerPool(ray, plan, ship_model(ray, settings))
        log.info("Ray: %s", plan.describe())
        results = colorize_each(
            pairs,
            lambda source, destination: colorize_video_on_ray(pool, source, destination, options, quiet),
            VideoResult.failed,
        )
    return results, plan
