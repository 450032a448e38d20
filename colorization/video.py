"""Colorizing films: one ffmpeg decodes, the core pipeline colorizes frame by frame, another ffmpeg encodes and copies
the sound; frames stream through pipes a few at a time, so memory stays flat however long the film is.

Three things run at once: a reader thread pulls raw frames off the decoder and prepares them, the calling thread
runs predict_ab and the temporal smoothing, and a writer thread composes full-size frames and feeds the encoder. OpenCV
and the pipes release the GIL, so decoding, inference, composing and encoding overlap.
"""
from __future__ import annotations

import logging
import queue
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .atomic import atomic_output
from .errors import UsageError, VideoError
from .ffmpeg import VIDEO_STREAM, FfmpegProcess, VideoInfo, ffmpeg_reason, format_time, probe
from .image_files import plan_outputs
from .image_io import write_image
from .model_files import display_path
from .pipeline import Colorizer
from .progress import progress_bar
from .temporal import DEFAULT_STRENGTH, FlickerMeter, TemporalSmoother

log = logging.getLogger("colorization")

DEFAULT_SUFFIX = "_colorized"
PREVIEW_SUFFIX = "_preview"
PREVIEW_FORMAT = ".jpg"
DEFAULT_CODEC = "libx264"
DEFAULT_PIXEL_FORMAT = "yuv420p"
CONTAINER_CODECS = {".webm": "libvpx-vp9", ".ogv": "libtheora"}
"""Containers that cannot hold H.264 get a codec they take."""
AUDIO_ENCODERS = {".webm": "libopus", ".ogg": "libvorbis", ".ogv": "libvorbis", ".avi": "libmp3lame"}
"""When the container refuses the original sound, it is re-encoded with this (aac elsewhere)."""
CRF_RANGES = {"libx264": 51, "libx265": 51, "libvpx-vp9": 63, "libvpx": 63, "libaom-av1": 63, "libsvtav1": 63}
"""Codecs with a constant-quality (CRF) scale, and its worst value; the others take -q:v 1 (best) to 31."""
DEFAULT_QUALITY = 6.5
"""On the 0-10 --quality scale: CRF 18 for x264, the usual 'visually lossless' setting."""
COLOUR_MATRIX = ("-colorspace", "bt709")
"""RGB is converted to YUV with the BT.709 matrix and labelled so: players would otherwise guess, differently for
SD and HD, and shift the colours (and lightness) of an untagged file."""
FASTSTART_CONTAINERS = (".mp4", ".m4v", ".mov")
QUEUE_DEPTH = 4
"""Frames held between the stages: enough to smooth over jitter, few enough that memory does not grow."""
THREAD_STOP_SECONDS = 10
"""How long a stopped run waits for the reader and writer to finish the frame in hand (a frame takes milliseconds)."""


@dataclass
class VideoOptions:
    codec: str | None = None
    pixel_format: str = DEFAULT_PIXEL_FORMAT
    crf: float | None = None
    quality: float | None = None
    start: float | None = None
    end: float | None = None
    audio: bool = True
    smoothing: float = DEFAULT_STRENGTH
    """Temporal smoothing strength; 0 colorizes each frame independently."""


@dataclass
class VideoResult:
    source: Path
    destination: Path
    status: str = "done"
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    audio: str = "none"
    problems: list[str] = field(default_factory=list)
    flicker_independent: float | None = None
    flicker_output: float | None = None
    scene_cuts: int = 0

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class AudioPlan:
    description: str
    arguments: tuple[str, ...] = ()


def seconds_argument(seconds: float) -> str:
    return f"{seconds:.6f}"


def check_span(start: float | None, end: float | None) -> None:
    if start is not None and end is not None and end <= start:
        raise UsageError(f"--end {format_time(end)} must come after --start {format_time(start)}")


def plan_videos(sources: list[Path], output: Path | None, suffix: str) -> list[tuple[Path, Path]]:
    """As for pictures (outputs beside the inputs or in -o DIR, inputs never overwritten), with video names."""
    if output is not None and len(sources) > 1 and output.suffix and not output.is_dir():
        raise UsageError(f"-o {output} looks like a file, but {len(sources)} inputs need a folder: pass -o DIR")
    return plan_outputs(sources, output, suffix)


def plan_previews(sources: list[Path], output: Path | None) -> list[tuple[Path, Path]]:
    """Each input's stills go to -o DIR, or to NAME_preview/ beside it."""
    return [(source, output or source.with_name(f"{source.stem}{PREVIEW_SUFFIX}")) for source in sources]


def check_options(options: VideoOptions, destinations: list[Path]) -> None:
    """Refuse impossible settings before the model loads and any film is opened."""
    check_span(options.start, options.end)
    if not 0 <= options.smoothing < 1:
        raise UsageError(f"--smooth-strength goes from 0 (off) to below 1, got {options.smoothing:g}")
    for destination in destinations:
        quality_arguments(choose_codec(options, destination), options.crf, options.quality)


def choose_codec(options: VideoOptions, destination: Path) -> str:
    return options.codec or CONTAINER_CODECS.get(destination.suffix.lower(), DEFAULT_CODEC)


def quality_arguments(codec: str, crf: float | None, quality: float | None) -> list[str]:
    """--crf is the codec's own scale; --quality 0-10 (10 best) is mapped onto whichever scale the codec has."""
    worst = CRF_RANGES.get(codec)
    if crf is not None:
        if worst is None:
            raise UsageError(f"--crf applies to {', '.join(CRF_RANGES)}; for {codec} use --quality 0-10")
        if not 0 <= crf <= worst:
            raise UsageError(f"--crf for {codec} goes from 0 (best) to {worst}, got {crf:g}")
        value = crf
    elif worst is None and quality is None:
        return []
    else:
        level = DEFAULT_QUALITY if quality is None else quality
        if not 0 <= level <= 10:
            raise UsageError(f"--quality goes from 0 to 10 (best), got {level:g}")
        if worst is None:
            return ["-q:v", str(round(1 + (1 - level / 10) * 30))]
        value = round((1 - level / 10) * worst)
    arguments = ["-crf", f"{value:g}"]
    return arguments if codec.startswith("libx26") else arguments + ["-b:v", "0"]


def fitting_pixel_format(pixel_format: str, width: int, height: int) -> str:
    """4:2:0 needs even sizes (4:2:2 an even width): keep the film's exact size and use full chroma instead."""
    odd = (width % 2 or height % 2) if "420" in pixel_format or pixel_format.startswith("nv") else (
        width % 2 if "422" in pixel_format else False
    )
    if not odd:
        return pixel_format
    fitted = pixel_format.replace("420", "444").replace("422", "444") if not pixel_format.startswith("nv") else "yuv444p"
    log.warning(
        "warning: %dx%d has an odd side, which %s cannot store: writing %s to keep the size (less widely playable)",
        width, height, pixel_format, fitted,
    )
    return fitted


def can_copy_audio(source: Path, suffix: str) -> bool:
    """Try it on a tenth of a second: ffmpeg knows which sound codecs each container takes better than a table."""
    with tempfile.TemporaryDirectory(prefix="colorize-audio-") as folder:
        trial = FfmpegProcess(
            ["-nostdin", "-i", str(source), "-map", "0:a", "-c", "copy", "-t", "0.1", "-y", str(Path(folder) / f"trial{suffix}")]
        )
        return trial.wait() == 0


def plan_audio(info: VideoInfo, destination: Path, wanted: bool) -> AudioPlan:
    if not info.has_audio:
        return AudioPlan("none in the input")
    codecs = ", ".join(info.audio_codecs)
    if not wanted:
        return AudioPlan(f"dropped ({codecs}, --no-audio)")
    suffix = destination.suffix.lower()
    if can_copy_audio(info.path, suffix):
        return AudioPlan(f"copied ({codecs})", ("-c:a", "copy"))
    encoder = AUDIO_ENCODERS.get(suffix, "aac")
    return AudioPlan(f"re-encoded ({codecs} -> {encoder}, which {suffix or 'this container'} takes)", ("-c:a", encoder))


def span_arguments(start: float, duration: float | None) -> list[str]:
    arguments = ["-ss", seconds_argument(start)] if start else []
    return arguments + (["-t", seconds_argument(duration)] if duration is not None else [])


def decoder_arguments(info: VideoInfo, start: float, duration: float | None, still_every: float | None = None) -> list[str]:
    """Raw BGR frames at the probed constant rate (a variable-rate film gets frames repeated or dropped to keep time),
    or, for stills, only the first frame of every `still_every` seconds."""
    arguments = ["-nostdin", *span_arguments(start, duration), "-i", str(info.path), "-map", VIDEO_STREAM]
    if still_every:
        every = f"{still_every:.6f}"
        arguments += ["-vf", f"select='isnan(prev_t)+gt(floor(t/{every}),floor(prev_t/{every}))'", "-fps_mode", "passthrough"]
    else:
        arguments += ["-r", str(info.rate)]
    return arguments + ["-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"]


def encoder_arguments(
    info: VideoInfo, temporary: Path, options: VideoOptions, audio: AudioPlan, start: float, duration: float | None
) -> list[str]:
    """Colour frames from the pipe, the original's sound and metadata (cut to the same span) from the file."""
    codec = choose_codec(options, temporary)
    arguments = [
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-video_size", f"{info.width}x{info.height}", "-framerate", str(info.rate),
        "-i", "pipe:0", *span_arguments(start, duration), "-i", str(info.path), "-map", "0:v:0",
    ]
    if audio.arguments:
        arguments += ["-map", "1:a", *audio.arguments]
    arguments += [
        "-map_metadata", "1", "-c:v", codec,
        "-pix_fmt", fitting_pixel_format(options.pixel_format, info.width, info.height), *COLOUR_MATRIX,
        *quality_arguments(codec, options.crf, options.quality),
    ]
    if info.sample_aspect is not None:
        arguments += ["-vf", f"setsar={info.sample_aspect.numerator}/{info.sample_aspect.denominator}"]
    if temporary.suffix.lower() in FASTSTART_CONTAINERS:
        arguments += ["-movflags", "+faststart"]
    return arguments + ["-y", str(temporary)]


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


END = object()


def put_unless_stopped(target: queue.Queue, item, stop: threading.Event) -> bool:
    while not stop.is_set():
        try:
            target.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


class FrameReader(threading.Thread):
    """Reads raw frames off the decoder's pipe ahead of inference, at most QUEUE_DEPTH waiting, and applies `prepare`
    to each (if given) so that this work too is done while the network runs."""

    def __init__(self, stream, shape: tuple[int, int, int], stop: threading.Event, prepare=None):
        super().__init__(name="frame-reader", daemon=True)
        self.stream = stream
        self.shape = shape
        self.stop = stop
        self.prepare = prepare
        self.frames: queue.Queue = queue.Queue(QUEUE_DEPTH)
        self.partial_frame = False
        self.error: Exception | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                frame = np.empty(self.shape, np.uint8)
                filled = read_into(self.stream, memoryview(frame).cast("B"))
                if filled < frame.nbytes:
                    self.partial_frame = filled > 0
                    break
                item = frame if self.prepare is None else self.prepare(frame)
                if not put_unless_stopped(self.frames, item, self.stop):
                    return
        except Exception as error:  # noqa: BLE001 - handed to the calling thread, which reports it
            self.error = error
        finally:
            put_unless_stopped(self.frames, END, self.stop)

    def __iter__(self):
        while True:
            item = self.frames.get()
            if item is END:
                return
            yield item


def read_into(stream, buffer: memoryview) -> int:
    filled = 0
    while filled < len(buffer):
        count = stream.readinto(buffer[filled:])
        if not count:
            break
        filled += count
    return filled


class FrameWriter(threading.Thread):
    """Composes each full-size frame and feeds it to the encoder while the next frame is being predicted."""

    def __init__(self, colorizer: Colorizer, stream, stop: threading.Event):
        super().__init__(name="frame-writer", daemon=True)
        self.colorizer = colorizer
        self.stream = stream
        self.stop = stop
        self.items: queue.Queue = queue.Queue(QUEUE_DEPTH)
        self.written = 0
        self.error: Exception | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                item = self.items.get(timeout=0.1)
            except queue.Empty:
                continue
            if item is END:
                return
            if self.error is not None:
                continue
            prepared, ab = item
            try:
                self.stream.write(np.ascontiguousarray(self.colorizer.compose(prepared, ab)).data)
                self.written += 1
            except Exception as error:  # noqa: BLE001 - handed to the calling thread, which reports it
                self.error = error

    def send(self, prepared, ab) -> bool:
        return self.error is None and put_unless_stopped(self.items, (prepared, ab), self.stop)

    def finish(self) -> None:
        put_unless_stopped(self.items, END, self.stop)
        self.join()


def colorize_video(
    colorizer: Colorizer, source: Path, destination: Path, options: VideoOptions, quiet: bool = False
) -> VideoResult:
    """Colorize one film into `destination`, which appears only once the encoder has finished it."""
    started = time.perf_counter()
    info = probe(source)
    log.info("%s: %s", display_path(source), info.describe())
    start, duration, expected = resolve_span(info, options.start, options.end)
    audio = plan_audio(info, destination, options.audio)
    if info.variable_rate:
        log.info("%s has a variable frame rate: written at a constant %.3f fps, frames repeated or dropped to keep time",
                 display_path(source), float(info.rate))
    result = VideoResult(source, destination, audio=audio.description)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(destination) as temporary:
        processes: list[FfmpegProcess] = []
        try:
            decoder = FfmpegProcess(decoder_arguments(info, start, duration), stdout=subprocess.PIPE)
            processes.append(decoder)
            encoder = FfmpegProcess(encoder_arguments(info, temporary, options, audio, start, duration), stdin=subprocess.PIPE)
            processes.append(encoder)
            write_error = stream_frames(colorizer, info, decoder, encoder, options, result, expected, quiet)
            check_encoder(encoder, destination)
            if write_error is not None:
                raise VideoError(f"could not write {display_path(destination)}: {write_error}")
            result.problems += check_decoder(decoder, source, result.frames, expected)
        finally:
            for process in processes:
                process.stop()
    result.seconds = time.perf_counter() - started
    return result


def stream_frames(
    colorizer: Colorizer,
    info: VideoInfo,
    decoder: FfmpegProcess,
    encoder: FfmpegProcess,
    options: VideoOptions,
    result: VideoResult,
    expected: int | None,
    quiet: bool,
) -> OSError | None:
    """Run the three stages until the decoder runs dry; returns the error that stopped writing to the encoder, if
    any, for the caller to report after ffmpeg's own reason."""
    stop = threading.Event()
    reader = FrameReader(decoder.stdout, (info.height, info.width, 3), stop, colorizer.prepare)
    writer = FrameWriter(colorizer, encoder.stdin, stop)
    smoother = TemporalSmoother(options.smoothing)
    independent, output = FlickerMeter(), FlickerMeter()
    reader.start()
    writer.start()
    try:
        with progress_bar(expected, "frame", display_path(info.path), quiet) as progress:
            for prepared in reader:
                (ab,) = colorizer.predict_ab([prepared])
                smoothed = smoother.update(prepared.network_input, ab)
                independent.add(ab, smoother.cut)
                output.add(smoothed, smoother.cut)
                if not writer.send(prepared, smoothed):
                    break
                progress.update()
        writer.finish()
    finally:
        stop.set()
        # Interrupted or not, neither thread may still be inside OpenCV when the process exits: C++ aborts the
        # process ("terminate called without an active exception") if it tears down a thread pool that is busy.
        for thread in (reader, writer):
            thread.join(timeout=THREAD_STOP_SECONDS)
    if writer.error is None and reader.error is not None:
        if not isinstance(reader.error, OSError):
            raise reader.error
        raise VideoError(f"{display_path(info.path)}: reading frames from ffmpeg failed ({reader.error})")
    try:
        encoder.stdin.close()
    except OSError:
        pass
    result.frames = writer.written
    result.flicker_independent, result.flicker_output = independent.value, output.value
    result.scene_cuts = smoother.cuts
    if reader.partial_frame:
        result.problems.append("the last frame was cut short and is left out")
    if writer.error is not None and not isinstance(writer.error, OSError):
        raise writer.error
    return writer.error


def check_encoder(encoder: FfmpegProcess, destination: Path) -> None:
    """An encoder failure (unknown codec, full disk...) loses the output: say why with ffmpeg's own last words."""
    if encoder.wait() != 0:
        reason = ffmpeg_reason(encoder.first_error) or "no message"
        raise VideoError(f"could not write {display_path(destination)}: ffmpeg says: {reason}")


def check_decoder(decoder: FfmpegProcess, source: Path, frames: int, expected: int | None) -> list[str]:
    """Damaged frames are concealed by ffmpeg and the run goes on; they are reported, and a film with no frame fails."""
    code = decoder.wait()
    shown = display_path(source)
    if frames == 0:
        reason = ffmpeg_reason(decoder.first_error) or "no frame in the chosen span"
        raise VideoError(f"{shown}: no frame could be decoded ({reason})")
    problems = []
    if decoder.error_count:
        problems.append(f"ffmpeg reported {decoder.error_count} decoding error(s), first: {ffmpeg_reason(decoder.first_error)}")
    elif code != 0:
        problems.append(f"the decoder stopped with exit code {code}")
    if expected is not None and frames < expected - max(2, expected // 100):
        problems.append(f"only {frames} of about {expected} frames could be decoded")
    return problems


@dataclass
class PreviewResult:
    source: Path
    folder: Path
    status: str = "done"
    reason: str = ""
    stills: list[Path] = field(default_factory=list)
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)


def still_name(stem: str, seconds: float) -> str:
    whole = int(round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{stem}_{hours:02d}h{minutes:02d}m{secs:02d}s{PREVIEW_FORMAT}"


def preview_video(
    colorizer: Colorizer, source: Path, folder: Path, every: float, options: VideoOptions, quiet: bool = False
) -> PreviewResult:
    """A quick look before committing hours: one colorized still every `every` seconds, named by its position."""
    started = time.perf_counter()
    info = probe(source)
    start, duration, expected = resolve_span(info, options.start, options.end)
    result = PreviewResult(source, folder)
    folder.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    decoder = FfmpegProcess(decoder_arguments(info, start, duration, still_every=every), stdout=subprocess.PIPE)
    try:
        reader = FrameReader(decoder.stdout, (info.height, info.width, 3), stop)
        reader.start()
        total = None if expected is None else int(expected / info.rate / every) + 1
        with progress_bar(total, "still", display_path(source), quiet) as progress:
            for index, frame in enumerate(reader):
                path = folder / still_name(source.stem, start + index * every)
                write_image(path, colorizer.colorize(frame))
                result.stills.append(path)
                progress.update()
        result.problems = check_decoder(decoder, source, len(result.stills), None)
    finally:
        stop.set()
        decoder.stop()
    result.seconds = time.perf_counter() - started
    return result


def describe(result: VideoResult) -> str:
    line = (
        f"{display_path(result.source)} -> {display_path(result.destination)}: {result.frames} frames in "
        f"{result.seconds:.1f} s ({result.fps:.1f} fps), sound {result.audio}"
    )
    if result.flicker_independent is not None:
        line += f", flicker {result.flicker_independent:.2f} frame by frame -> {result.flicker_output:.2f} written"
    return line


def colorize_videos(
    colorizer: Colorizer, pairs: list[tuple[Path, Path]], options: VideoOptions, quiet: bool = False
) -> list[VideoResult]:
    """Each (input, output) pair from plan_videos; a film that fails is reported and the others are still done."""
    results = []
    for source, destination in pairs:
        try:
            result = colorize_video(colorizer, source, destination, options, quiet)
        except VideoError as error:
            log.error("error: %s", error)
            results.append(VideoResult(source, destination, "failed", str(error)))
            continue
        log.info("%s", describe(result))
        for problem in result.problems:
            log.warning("warning: %s: %s", display_path(source), problem)
        results.append(result)
    return results


def preview_videos(
    colorizer: Colorizer, pairs: list[tuple[Path, Path]], every: float, options: VideoOptions, quiet: bool = False
) -> list[PreviewResult]:
    results = []
    for source, folder in pairs:
        try:
            result = preview_video(colorizer, source, folder, every, options, quiet)
        except VideoError as error:
            log.error("error: %s", error)
            results.append(PreviewResult(source, folder, "failed", str(error)))
            continue
        log.info("%s: %d stills in %s (%.1f s)", display_path(source), len(result.stills), display_path(folder), result.seconds)
        for problem in result.problems:
            log.warning("warning: %s: %s", display_path(source), problem)
        results.append(result)
    return results
