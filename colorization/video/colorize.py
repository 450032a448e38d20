"""Colorizing films: frames stream from the decoder through the pipeline (colorization.stream) into the encoder a few
at a time, so memory stays flat however long the film is; the colour is steadied over time before it is composed."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from ..atomic import atomic_output, remove_abandoned_temporaries
from ..engines.base import error_reason
from ..errors import Cancelled, ImageError, OutputError, VideoError
from ..image_io import write_image
from ..outputs import create_parent
from ..paths import display_path
from ..pipeline import Colorizer
from ..preparation import PreparedImage
from ..progress import progress_bar
from ..status import Status
from ..stream import run_stages
from ..temporal import FlickerMeter, TemporalSmoother
from .encoding import VideoOptions
from .ffmpeg import VideoInfo, format_time, probe
from .io import VideoReader, VideoWriter, WriteFailed, plan_audio

log = logging.getLogger(__name__)

DEFAULT_SUFFIX = "_colorized"
PREVIEW_SUFFIX = "_preview"
PREVIEW_FORMAT = ".jpg"
QUEUE_DEPTH = 4
"""Frames held between the stages: enough to smooth over jitter, few enough that memory does not grow."""


@dataclass
class VideoResult:
    source: Path
    destination: Path
    status: Status = Status.DONE
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    audio: str = "none"
    problems: list[str] = field(default_factory=list)
    flicker_independent: float | None = None
    flicker_output: float | None = None
    scene_cuts: int = 0

    @classmethod
    def failed(cls, source: Path, destination: Path, reason: str) -> VideoResult:
        return cls(source, destination, Status.FAILED, reason)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        text = (
            f"{display_path(self.source)} -> {display_path(self.destination)}: {self.frames} frames in "
            f"{self.seconds:.1f} s ({self.fps:.1f} fps), sound {self.audio}"
        )
        if self.flicker_independent is not None:
            text += f", flicker {self.flicker_independent:.2f} frame by frame -> {self.flicker_output:.2f} written"
        return text


@dataclass
class PreviewResult:
    source: Path
    destination: Path
    """The folder the stills go to."""
    status: Status = Status.DONE
    reason: str = ""
    stills: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @classmethod
    def failed(cls, source: Path, folder: Path, reason: str) -> PreviewResult:
        return cls(source, folder, Status.FAILED, reason)

    def line(self) -> str:
        return f"{display_path(self.source)}: {len(self.stills)} stills in {display_path(self.destination)} ({self.seconds:.1f} s)"


def resolve_span(info: VideoInfo, start: float | None, end: float | None) -> tuple[float, float | None, int | None]:
    """(start, duration or None for 'to the end', expected frame count or None when the length is unknown)."""
    start = start or 0.0
    shown = display_path(info.path)
    if info.duration is not None and start >= info.duration:
        raise VideoError(f"{shown}: --start {format_time(start)} is at or past its end ({format_time(info.duration)})")
    duration = None if end is None else end - start
    length = None if info.duration is None else info.duration - start
    if duration is not None:
        length = duration if length is None else min(length, duration)
    return start, duration, None if length is None else max(1, round(length * info.rate))


class FrameColorizer(Protocol):
    """What colorize_video asks of a colorizer: a Colorizer, or the web server's with one film's settings."""

    def prepare(self, image: np.ndarray) -> PreparedImage: ...

    def predict_ab(self, prepared: list[PreparedImage]) -> list[np.ndarray]: ...

    def compose(self, prepared: PreparedImage, ab: np.ndarray) -> np.ndarray: ...


def colorize_video(
    colorizer: FrameColorizer,
    source: Path,
    destination: Path,
    options: VideoOptions,
    quiet: bool = False,
    progress=None,
    cancel: threading.Event | None = None,
) -> VideoResult:
    """Colorize one film into `destination`, which appears only once the encoder has finished it. `progress` (an
    object with tqdm's update()) replaces the terminal's bar, for a caller that reports progress its own way;
    setting `cancel` stops the run within a frame, raising Cancelled, and leaves nothing behind."""
    started = time.perf_counter()
    info = probe(source)
    log.info("%s: %s", display_path(source), info.summary())
    start, duration, expected = resolve_span(info, options.start, options.end)
    audio = plan_audio(info, destination, options.audio)
    if info.variable_rate:
        log.info(
            "%s has a variable frame rate: written at a constant %.3f fps, frames repeated or dropped to keep time",
            display_path(source),
            float(info.rate),
        )
    result = VideoResult(source, destination, audio=audio.description)
    prepare_destination(destination)
    shown = (
        progress_bar(expected, "frame", display_path(source), quiet)
        if progress is None
        else contextlib.nullcontext(progress)
    )
    with (
        atomic_output(destination) as temporary,
        VideoReader(info, start, duration) as reader,
        VideoWriter(info, temporary, destination, options, audio, start, duration) as writer,
        shown as progress,
    ):
        span = colorize_span(
            colorizer, source, reader.frames(), writer, TemporalSmoother(options.smoothing), progress, cancel=cancel
        )
        result.frames = writer.written
        result.problems += reader.problems(result.frames, expected)
    result.flicker_independent, result.flicker_output = span.independent.value, span.output.value
    result.scene_cuts = span.scene_cuts
    result.seconds = time.perf_counter() - started
    return result


def prepare_destination(destination: Path) -> None:
    """Its folder made, and the temporaries a killed run left for it removed."""
    create_parent(destination)
    for temporary in remove_abandoned_temporaries(destination.parent, [destination]):
        log.info("removed %s, left by a run that was stopped mid-write", display_path(temporary))


@dataclass
class SpanResult:
    """The flicker of the frames a span wrote (frame by frame and as written) and the scene cuts among them."""

    independent: FlickerMeter
    output: FlickerMeter
    scene_cuts: int = 0


def colorize_span(
    colorizer: FrameColorizer,
    source: Path,
    frames,
    writer: VideoWriter,
    smoother: TemporalSmoother,
    progress=None,
    warm_up: int = 0,
    cancel: threading.Event | None = None,
) -> SpanResult:
    """Frames through prepare, the network and the smoother into `writer`, which is finished here. The first
    `warm_up` frames only steady the smoother (a segment of a film starts where the one before it ended) and are not
    written; the last of them starts the flicker meters, so the change across the join is measured too. `cancel`,
    once set, stops the span before the next frame's network run with Cancelled (the writer is not finished)."""
    span = SpanResult(FlickerMeter(), FlickerMeter())
    seen = 0
    cuts_before = 0

    def predict_and_smooth(batch: list) -> list:
        nonlocal seen, cuts_before
        (prepared,) = batch
        if cancel is not None and cancel.is_set():
            raise Cancelled(f"{display_path(source)}: stopped on request")
        try:
            (ab,) = colorizer.predict_ab(batch)
        except Exception as error:  # out of GPU memory, an engine error: this film fails, the others go on
            raise VideoError(f"{display_path(source)}: the network failed ({error_reason(error)})") from error
        smoothed = smoother.update(prepared.network_input, ab)
        seen += 1
        if seen >= warm_up:
            span.independent.add(ab, smoother.cut)
            span.output.add(smoothed, smoother.cut)
        if seen <= warm_up:  # it only steadies the smoother: not written
            cuts_before = smoother.cuts
            return [None]
        if progress is not None:
            progress.update()
        return [smoothed]

    try:
        run_stages(
            frames,
            colorizer.prepare,
            predict_and_smooth,
            lambda prepared, ab: writer.write(colorizer.compose(prepared, ab)),
            depth=QUEUE_DEPTH,
        )
    except WriteFailed:
        writer.finish()  # ffmpeg's reason for closing the pipe, when it gives one
        raise
    writer.finish()
    span.scene_cuts = smoother.cuts - cuts_before
    return span


def preview_folder(source: Path, output: Path | None) -> Path:
    """An input's stills go to -o DIR, or to NAME_preview/ beside it."""
    return output or source.with_name(f"{source.stem}{PREVIEW_SUFFIX}")


def still_name(stem: str, seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{stem}_{hours:02d}h{minutes:02d}m{secs:02d}s{PREVIEW_FORMAT}"


def preview_video(
    colorizer: Colorizer, source: Path, folder: Path, options: VideoOptions, every: float, quiet: bool = False
) -> PreviewResult:
    """A quick look before committing hours: one colorized still every `every` seconds, named by its position."""
    started = time.perf_counter()
    info = probe(source)
    start, duration, expected = resolve_span(info, options.start, options.end)
    result = PreviewResult(source, folder)
    create_parent(folder / still_name(source.stem, start))
    total = None if expected is None else int(expected / info.rate / every) + 1
    with (
        VideoReader(info, start, duration, still_every=every) as reader,
        progress_bar(total, "still", display_path(source), quiet) as progress,
    ):
        for index, frame in enumerate(reader.frames()):
            path = folder / still_name(source.stem, start + index * every)
            write_image(path, colorizer.colorize(frame))
            result.stills.append(path)
            progress.update()
        result.problems = reader.problems(len(result.stills), None)
    result.seconds = time.perf_counter() - started
    return result


def colorize_each(
    pairs: list[tuple[Path, Path]],
    work: Callable[[Path, Path], VideoResult | PreviewResult],
    failed: Callable[[Path, Path, str], VideoResult | PreviewResult],
) -> list:
    """Each (input, output) pair in turn; a film that fails is reported and the others are still done."""
    results = []
    for source, destination in pairs:
        try:
            result = work(source, destination)
        except (VideoError, OutputError, ImageError) as error:
            log.error("error: %s", error)
            results.append(failed(source, destination, str(error)))
            continue
        log.info("%s", result.line())
        for problem in result.problems:
            log.warning("warning: %s: %s", display_path(source), problem)
        results.append(result)
    return results


def colorize_videos(colorizer: Colorizer, pairs, options: VideoOptions, quiet: bool = False) -> list[VideoResult]:
    return colorize_each(
        pairs,
        lambda source, destination: colorize_video(colorizer, source, destination, options, quiet),
        VideoResult.failed,
    )


def preview_videos(
    colorizer: Colorizer, pairs, options: VideoOptions, every: float, quiet: bool = False
) -> list[PreviewResult]:
    return colorize_each(
        pairs,
        lambda source, folder: preview_video(colorizer, source, folder, options, every, quiet),
        PreviewResult.failed,
    )
